/**
 * Pure mapping from MarketBridge business events to Salesforce Marketing Cloud data extension rows and journey
 * entry events.
 *
 * Marketplace buyers live in dedicated data extensions keyed by a Contact Key that is channel-distinguished
 * (`mirakl:{marketplace}:{customer_id}`), so they never merge with first-party contacts. Order lines are a ledger:
 * one row per sold line and one negative row per refund or cancellation (keyed by its Mirakl id), so each
 * adjustment is written exactly once however often it is delivered, and net revenue is the sum of an order's
 * lines. Journeys are entered only for confirmed and shipped facts, only where the marketplace allows marketing
 * or the journey is transactional, never for an order with an open incident or dispute, never in a history load.
 */
import { type ConnectorName, type MarketplaceConfig, type SfmcConnectorConfig, isRelayEmail } from '../config';
import { PermanentError } from '../connector/failures';
import type { BusinessEvent, Order, OrderLine } from '../events';

export const SFMC: ConnectorName = 'sfmc';

export type SfmcOptions = Pick<SfmcConnectorConfig, 'dataExtensions' | 'journeys'>;
export type DataExtension = keyof SfmcOptions['dataExtensions'];

type Value = string | number | boolean;
/** A rowset entry: primary-key columns in `keys`, everything else in `values`. */
export interface SfmcRow {
  keys: Record<string, string>;
  values: Record<string, Value>;
}

export interface JourneyEntry {
  eventDefinitionKey: string;
  contactKey: string;
  data: Record<string, Value>;
}

export interface SfmcWork {
  eventId: string;
  marketplace: string;
  orderId: string;
  contactKey: string;
  rows: Record<DataExtension, SfmcRow[]>;
  journey: JourneyEntry | undefined;
  backfill: boolean;
}

/** Order of writes: the contact's row before its orders, orders before their lines (then the journey entry). */
export const DATA_EXTENSION_ORDER: readonly DataExtension[] = ['customers', 'orders', 'orderLines'];

const round2 = (n: number) => Math.round(n * 100) / 100;

export const orderKey = (marketplace: string, orderId: string) => `${marketplace}:${orderId}`;
const lineKey = (marketplace: string, orderId: string, lineId: string) => `${marketplace}:${orderId}:${lineId}`;

/** The relay address, only where the marketplace's policy allows it and it is one of its relay addresses. */
function relayEmail(order: Order, marketplace: MarketplaceConfig): string | undefined {
  const relay = order.buyer.relayEmail;
  return marketplace.relayEmail.policy === 'transactional' && relay && isRelayEmail(marketplace, relay) ? relay : undefined;
}

/** Drops null/undefined so an upsert leaves unknown columns as they are instead of clearing them. */
function present(values: Record<string, Value | null | undefined>): Record<string, Value> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined)) as Record<string, Value>;
}

export function customerRow(order: Order, marketplace: MarketplaceConfig): SfmcRow {
  const { buyer } = order;
  return {
    keys: { ContactKey: buyer.identity },
    values: present({
      Marketplace: marketplace.id,
      MarketplaceName: marketplace.name,
      CustomerId: buyer.customerId,
      FirstName: buyer.firstName,
      LastName: buyer.lastName,
      Locale: buyer.locale,
      ShippingCountry: buyer.shippingCountryIso3,
      // Under policy `transactional` only, and named for what it is: an anonymised relay, not the buyer's own.
      RelayEmailAddress: relayEmail(order, marketplace),
      MarketingAllowed: marketplace.marketing === 'allowed',
    }),
  };
}

export function orderRow(order: Order, marketplace: MarketplaceConfig, extra: Record<string, Value> = {}): SfmcRow {
  return {
    keys: { OrderKey: orderKey(marketplace.id, order.orderId) },
    values: present({
      ContactKey: order.buyer.identity,
      OrderId: order.orderId,
      CommercialId: order.commercialId,
      Marketplace: marketplace.id,
      Channel: order.channel?.label ?? order.channel?.code ?? marketplace.name,
      Status: order.state,
      OrderDate: order.createdAt,
      UpdatedAt: order.updatedAt,
      Currency: order.currency,
      Subtotal: order.subtotal,
      ShippingTotal: order.shippingTotal,
      OrderTotal: order.total,
      HasIncident: order.hasIncident,
      ...extra,
    }),
  };
}

function saleLineRow(order: Order, marketplace: MarketplaceConfig, line: OrderLine): SfmcRow {
  return {
    keys: { LineKey: lineKey(marketplace.id, order.orderId, line.lineId) },
    values: present({
      OrderKey: orderKey(marketplace.id, order.orderId),
      ContactKey: order.buyer.identity,
      LineId: line.lineId,
      Kind: 'sale',
      Status: line.state,
      SKU: line.offerSku ?? line.productSku,
      ProductName: line.productTitle,
      Category: line.categoryLabel ?? line.categoryCode,
      Brand: line.brand,
      Quantity: line.quantity,
      UnitPrice: line.unitPrice,
      Amount: line.price,
      ShippingAmount: line.shippingPrice,
    }),
  };
}

interface Adjustment {
  kind: 'refund' | 'cancel';
  id: string;
  line: OrderLine | null;
  quantity: number | null;
  amount: number;
  shippingAmount: number;
  reason: string | null;
}

function adjustmentRow(order: Order, marketplace: MarketplaceConfig, a: Adjustment): SfmcRow {
  const base = orderKey(marketplace.id, order.orderId);
  return {
    keys: { LineKey: `${a.line ? lineKey(marketplace.id, order.orderId, a.line.lineId) : base}:${a.kind}:${a.id}` },
    values: present({
      OrderKey: base,
      ContactKey: order.buyer.identity,
      LineId: a.line?.lineId,
      Kind: a.kind,
      Status: a.kind === 'refund' ? 'REFUNDED' : 'CANCELED',
      SKU: a.line?.offerSku ?? a.line?.productSku,
      ProductName: a.line?.productTitle,
      Quantity: a.quantity === null ? undefined : -a.quantity,
      Amount: round2(-a.amount),
      ShippingAmount: round2(-a.shippingAmount),
      Reason: a.reason,
    }),
  };
}

/** Entry only where marketing may follow (or the journey is transactional), live traffic, no open incident. */
function journeyFor(event: BusinessEvent, order: Order, marketplace: MarketplaceConfig, options: SfmcOptions, backfill: boolean): JourneyEntry | undefined {
  const journey =
    event.detailType === 'Order Confirmed'
      ? options.journeys.confirmed
      : event.detailType === 'Order Shipped'
        ? options.journeys.shipped
        : undefined;
  if (!journey || backfill || order.hasIncident) return undefined;
  if (marketplace.marketing !== 'allowed' && !journey.transactional) return undefined;
  const tracking = event.detailType === 'Order Shipped' ? order.tracking : null;
  return {
    eventDefinitionKey: journey.eventDefinitionKey,
    contactKey: order.buyer.identity,
    data: present({
      OrderKey: orderKey(marketplace.id, order.orderId),
      OrderId: order.orderId,
      Marketplace: marketplace.id,
      OrderTotal: order.total,
      Currency: order.currency,
      RelayEmailAddress: relayEmail(order, marketplace),
      Carrier: tracking?.carrierName ?? tracking?.carrierCode,
      TrackingNumber: tracking?.trackingNumber,
      TrackingUrl: tracking?.trackingUrl,
    }),
  };
}

export function sfmcWorkFor(
  event: BusinessEvent,
  marketplace: MarketplaceConfig,
  options: SfmcOptions,
  mode: { backfill?: boolean } = {},
): SfmcWork {
  if (event.source !== 'marketbridge.mirakl' || !('order' in event.detail)) {
    throw new PermanentError(`${event.detailType} is not an order event and is not routed to SFMC`);
  }
  const { order } = event.detail;
  const backfill = (mode.backfill ?? false) || event.detail.backfill;
  const rows: Record<DataExtension, SfmcRow[]> = { customers: [], orders: [], orderLines: [] };
  switch (event.detailType) {
    case 'Order Confirmed':
      // The buyer's row comes with the purchase; later facts of the order carry nothing new about the buyer.
      rows.customers.push(customerRow(order, marketplace));
      rows.orders.push(orderRow(order, marketplace));
      rows.orderLines.push(...order.lines.map((line) => saleLineRow(order, marketplace, line)));
      break;
    case 'Order Shipped':
    case 'Order Received':
    case 'Order Incident Opened':
    case 'Order Incident Closed':
      rows.orders.push(orderRow(order, marketplace));
      break;
    case 'Order Refunded': {
      const { refund } = event.detail;
      rows.orders.push(orderRow(order, marketplace, { HasRefund: true }));
      rows.orderLines.push(
        saleLineRow(order, marketplace, refund.line),
        adjustmentRow(order, marketplace, { kind: 'refund', id: refund.refundId, reason: refund.reasonCode, ...refund }),
      );
      break;
    }
    case 'Order Cancelled': {
      const { cancellation } = event.detail;
      rows.orders.push(orderRow(order, marketplace, { HasCancellation: true }));
      if (cancellation) {
        rows.orderLines.push(
          saleLineRow(order, marketplace, cancellation.line),
          adjustmentRow(order, marketplace, { kind: 'cancel', id: cancellation.cancellationId, reason: cancellation.reasonCode, ...cancellation }),
        );
      } else {
        rows.orderLines.push(
          adjustmentRow(order, marketplace, { kind: 'cancel', id: 'order', line: null, quantity: null, amount: event.detail.amount, shippingAmount: 0, reason: null }),
        );
      }
      break;
    }
    default:
      throw new PermanentError(`${event.detailType} is not routed to SFMC`);
  }
  return {
    eventId: event.id,
    marketplace: marketplace.id,
    orderId: order.orderId,
    contactKey: order.buyer.identity,
    rows,
    journey: journeyFor(event, order, marketplace, options, backfill),
    backfill,
  };
}
