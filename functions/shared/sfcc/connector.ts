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
 */
import type { Config } from '../config';
import { PermanentError } from '../connector/failures';
import { InMemoryLeaseStore, type LeaseStore, createOrderLease } from '../connector/lease';
import type { RatePacer } from '../connector/pacer';
import type { Connector } from '../connector/runtime';
import type { BusinessEvent } from '../events';
import { HttpError, type HttpClient } from '../http';
import { SfccTokens } from './auth';
import { type ScapiPacedOperation, type SfccOrdersClient, createSfccOrdersClient, sfccOrdersPacer } from './client';
import { offerSkusOf, orderNoFor, parseAdjustments } from './mapping';
import { type ProductLookup, type SfccWrite, sfccSettings, sfccWritesFor } from './requests';
import type { CreateOrderRequest } from './scapi';

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

  async function create(body: CreateOrderRequest, miraklOrderId: string): Promise<void> {
    const orderNo = body.orderNo as string;
    try {
      await client.createOrder(body);
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      // SFCC refuses a second order with the same number: an earlier attempt may have created it.
      const existing = await client.getOrder(orderNo);
      if (!existing) throw error;
      if (existing[idAttribute] !== miraklOrderId) {
        throw new PermanentError(`SFCC order ${orderNo} exists but belongs to another Mirakl order`, { cause: error });
      }
    }
  }

  async function execute(write: Exclude<SfccWrite, { op: 'createOrders' }>): Promise<void> {
    switch (write.op) {
      case 'updateOrder':
        return client.updateAttributes(write.orderNo, write.body);
      case 'updateOrderStatus':
        return client.setStatus(write.orderNo, write.body.status);
      case 'updateOrderExternalStatus':
        return client.setExternalStatus(write.orderNo, write.body.status);
    }
  }

  async function deliverOne(event: BusinessEvent): Promise<void> {
    const marketplace = event.detail.marketplace;
    if (event.detailType === 'Order Confirmed') {
      const order = event.detail.order;
      const products = await deps.skuMap(marketplace).productsFor(offerSkusOf(order));
      const [write] = sfccWritesFor(event, sfcc, { products });
      if (write?.op === 'createOrders') await create(write.body, order.orderId);
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
