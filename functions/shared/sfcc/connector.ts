/**
 * The `sfcc-orders` connector: a confirmed Mirakl order becomes one SFCC order; refunds and cancellations update
 * its finance attributes and statuses.
 *
 * Exactly one SFCC order per Mirakl order: the order number is derived from the Mirakl order id and SFCC rejects a
 * second order with the same number, so a retry (a redelivery, a crash after the write, a timeout whose request
 * did land) fails to create and then finds the order by its number. Each refund and cancellation is recorded in the
 * order's adjustments attribute and applied only when absent: a read, then a write of the whole attribute, made
 * holding the order's lease, so two adjustments of one order processed at once (in one batch or by two Lambdas)
 * do not overwrite each other.
 *
 * An order from a history load (`detail.backfill`) was fulfilled before MarketBridge: it is created carrying the
 * history attribute, then set `exported` (and, once shipped in Mirakl, shipped and completed) so the brand's order
 * export never sends it to fulfilment again. Those writes hold the order's lease, so a cancellation of the same order
 * processed at once lands after them; a retry finishes what is missing, and an order a live event created first is
 * left as it is.
 */
import type { Config } from '../config';
import { PermanentError } from '../connector/failures';
import { InMemoryLeaseStore, type LeaseStore, createOrderLease } from '../connector/lease';
import type { RatePacer } from '../connector/pacer';
import type { Connector } from '../connector/runtime';
import type { BusinessEvent } from '../events';
import { HttpError, type HttpClient } from '../http';
import { SfccTokens } from './auth';
import {
  type ScapiPacedOperation,
  type SfccOrdersClient,
  type StatusWrite,
  createSfccOrdersClient,
  sfccOrdersPacer,
} from './client';
import { offerSkusOf, orderNoFor, parseAdjustments } from './mapping';
import { type ProductLookup, type SfccWrite, sfccSettings, sfccWritesFor } from './requests';
import type { CreateOrderRequest, ScapiOrder } from './scapi';

export interface SfccOrdersConnectorDeps {
  config: Config;
  http: HttpClient;
  secret(field: string): Promise<string>;
  /** The SKU map of a marketplace; called once per confirmed order, so a fresh (uncached) map per call is fine. */
  skuMap(marketplace: string): ProductLookup;
  tokens?: SfccTokens;
  /** Defaults to this instance's share of SCAPI's published limits (see sfccOrdersPacer). */
  pacer?: RatePacer<ScapiPacedOperation>;
  /** Order leases; the deployed handler's are on the state table, the default holds within this process only. */
  leases?: LeaseStore;
}

export interface SfccOrdersConnector extends Connector {
  tokens: SfccTokens;
}

export function createSfccOrdersConnector(deps: SfccOrdersConnectorDeps): SfccOrdersConnector {
  const sfcc = sfccSettings(deps.config);
  const tokens = deps.tokens ?? new SfccTokens({ sfcc, http: deps.http, secret: deps.secret });
  const pacer = deps.pacer ?? sfccOrdersPacer(deps.config);
  const client: SfccOrdersClient = createSfccOrdersClient({ sfcc, http: deps.http, tokens, pacer });
  const idAttribute = sfcc.attributes.miraklOrderId;
  const orderLease = createOrderLease('sfcc-orders', deps.leases ?? new InMemoryLeaseStore());

  /** Creates the order; when an earlier attempt did, returns it as SFCC has it. */
  async function create(body: CreateOrderRequest, miraklOrderId: string): Promise<ScapiOrder | undefined> {
    const orderNo = body.orderNo as string;
    try {
      await client.createOrder(body);
      return undefined;
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      // SFCC refuses a second order with the same number: an earlier attempt may have created it.
      const existing = await client.getOrder(orderNo);
      if (!existing) throw error;
      if (existing[idAttribute] !== miraklOrderId) {
        throw new PermanentError(`SFCC order ${orderNo} exists but belongs to another Mirakl order`, { cause: error });
      }
      return existing;
    }
  }

  /** True when an existing order already has what `write` sets; only a `new` order is completed (not a cancelled one). */
  function alreadySet(existing: ScapiOrder, write: StatusWrite): boolean {
    switch (write.op) {
      case 'updateOrderExportStatus':
        return existing.exportStatus === write.body.status;
      case 'updateOrderShippingStatus':
        return existing.shippingStatus === write.body.status;
      case 'updateOrderStatus':
        return existing.status !== 'new';
      case 'updateOrderExternalStatus':
        return existing.externalOrderStatus === write.body.status;
    }
  }

  async function execute(write: Exclude<SfccWrite, { op: 'createOrders' }>): Promise<void> {
    if (write.op === 'updateOrder') return client.updateAttributes(write.orderNo, write.body);
    return client.updateStatus(write);
  }

  async function deliverOne(event: BusinessEvent): Promise<void> {
    const marketplace = event.detail.marketplace;
    if (event.detailType === 'Order Confirmed') {
      const order = event.detail.order;
      const products = await deps.skuMap(marketplace).productsFor(offerSkusOf(order));
      const [creation, ...statuses] = sfccWritesFor(event, sfcc, { products });
      if (creation?.op !== 'createOrders') return;
      if (statuses.length === 0) {
        await create(creation.body, order.orderId);
        return;
      }
      await orderLease.run([{ marketplace, orderId: order.orderId }], async () => {
        const existing = await create(creation.body, order.orderId);
        // A live event created it first: it is the brand's to fulfil, as it is.
        if (existing && existing[sfcc.attributes.historyImport] !== true) return;
        for (const write of statuses as StatusWrite[]) {
          if (!existing || !alreadySet(existing, write)) await execute(write);
        }
      });
      return;
    }
    if (event.detailType !== 'Order Refunded' && event.detailType !== 'Order Cancelled') return;
    const orderNo = orderNoFor(marketplace, event.detail.order.orderId);
    await orderLease.run([{ marketplace, orderId: event.detail.order.orderId }], async () => {
      const existing = await client.getOrder(orderNo);
      if (!existing) {
        // Events of one order can overtake each other: a later receive finds the order once it is created.
        throw new HttpError({
          operation: 'sfcc.getOrder',
          kind: 'status',
          status: 404,
          retryable: true,
          attempts: 1,
          detail: 'the confirmed order is not in SFCC yet',
        });
      }
      const applied = parseAdjustments(existing[sfcc.attributes.adjustments]);
      for (const write of sfccWritesFor(event, sfcc, { applied })) {
        // SFCC refuses to cancel a cancelled order again (a retry after the status was set).
        if (write.op === 'createOrders' || (write.op === 'updateOrderStatus' && existing.status === write.body.status)) continue;
        await execute(write);
      }
    });
  }

  return { deliverOne, tokens };
}
