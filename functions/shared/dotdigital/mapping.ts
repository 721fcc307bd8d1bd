/**
 * Pure mapping from MarketBridge business events to Dotdigital contacts and `orders` insight data.
 *
 * Consent rules live here, in one place: a buyer goes only into the configured private non-marketing list; no body
 * ever carries `channelProperties` (no opt-in type, no status: never "unsubscribed"/"suppressed" as a "no consent"
 * marker), `consentRecords` or `preferences`. Contacts are keyed by the custom identifier carrying
 * `mirakl:{marketplace}:{customer_id}`, which consolidates a buyer's purchases from one marketplace; the relay
 * address is added as the contact's e-mail only under relay policy `transactional`.
 */
import {
  type ConnectorName,
  type DotdigitalConnectorConfig,
  type MarketplaceConfig,
  isRelayEmail,
} from '../config';
import { PermanentError } from '../connector/failures';
import type { BusinessEvent, Order, OrderLine } from '../events';

export const DOTDIGITAL: ConnectorName = 'dotdigital';

export type DotdigitalOptions = Pick<
  DotdigitalConnectorConfig,
  'customIdentifier' | 'dataFields' | 'programmes' | 'collectionName'
> & { listId: number };

/** How a contact is addressed in paths and in insight data's `contactIdentity`. */
export interface ContactIdentity {
  identifier: string;
  value: string;
}

/** The v3 contact PATCH body: identifiers, data fields and the one private list; nothing about consent. */
export interface ContactBody {
  identifiers: Record<string, string>;
  dataFields: Record<string, string | boolean>;
  lists: [number];
}

export interface Adjustment {
  id: string;
  amount: number;
  delivery_amount: number;
  reason: string;
}

/**
 * An `orders` insight record with the field names Dotdigital's own ecommerce connectors use, plus the marketplace
 * and net totals. Every key is always present with the same type (the first records fix the collection schema),
 * and no array sits directly inside an array (`JsonContainsNestedArray`).
 */
export interface OrderRecordJson {
  id: string;
  purchase_date: string;
  currency: string;
  order_subtotal: number;
  delivery_total: number;
  order_total: number;
  order_status: string;
  store_name: string;
  marketplace: string;
  channel: string;
  shipping_country: string;
  has_incident: boolean;
  products: { name: string; sku: string; qty: number; price: number; brand: string; categories: { Name: string }[] }[];
  refunds: Adjustment[];
  cancellations: Adjustment[];
  refund_total: number;
  cancelled_total: number;
  net_total: number;
  /** Mirakl's last update of the order: a late, older fact never rolls the record back. */
  updated_at: string;
}

export interface OrderRecord {
  key: string;
  json: OrderRecordJson;
}

/** Everything one business event means for Dotdigital. */
export interface DotdigitalWork {
  eventId: string;
  identity: ContactIdentity;
  contact: ContactBody;
  record: OrderRecord;
  /** Set only when the fact may trigger marketing; the contact's channel status is checked before enrolling. */
  programme: number | undefined;
  backfill: boolean;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function contactIdentityFor(order: Order, options: Pick<DotdigitalOptions, 'customIdentifier'>): ContactIdentity {
  return { identifier: options.customIdentifier, value: order.buyer.identity };
}

export function contactFor(order: Order, marketplace: MarketplaceConfig, options: DotdigitalOptions): ContactBody {
  const { buyer } = order;
  const fields = options.dataFields;
  const identifiers: Record<string, string> = { [options.customIdentifier]: buyer.identity };
  // Policy is checked here too: a producer bug must not turn a relay address into a contact's e-mail.
  if (
    marketplace.relayEmail.policy === 'transactional' &&
    buyer.relayEmail &&
    isRelayEmail(marketplace, buyer.relayEmail)
  ) {
    identifiers.email = buyer.relayEmail;
  }
  const dataFields: Record<string, string | boolean> = {
    [fields.identity]: buyer.identity,
    [fields.marketplace]: marketplace.name,
    [fields.marketingAllowed]: marketplace.marketing === 'allowed',
  };
  if (buyer.firstName) dataFields[fields.firstName] = buyer.firstName;
  if (buyer.lastName) dataFields[fields.lastName] = buyer.lastName;
  return { identifiers, dataFields, lists: [options.listId] };
}

function product(line: OrderLine): OrderRecordJson['products'][number] {
  const category = line.categoryLabel ?? line.categoryCode;
  return {
    name: line.productTitle ?? '',
    sku: line.offerSku ?? line.productSku ?? '',
    qty: line.quantity,
    price: line.unitPrice,
    brand: line.brand ?? '',
    categories: category ? [{ Name: category }] : [],
  };
}

/** Record key: one record per marketplace order, so every fact of the order updates the same record. */
export function recordKey(marketplace: string, orderId: string): string {
  return `${marketplace}:${orderId}`;
}

export function orderRecordFor(order: Order, marketplace: MarketplaceConfig): OrderRecord {
  return {
    key: recordKey(marketplace.id, order.orderId),
    json: withTotals({
      id: order.orderId,
      purchase_date: order.createdAt,
      currency: order.currency,
      order_subtotal: order.subtotal,
      delivery_total: order.shippingTotal,
      order_total: order.total,
      order_status: order.state,
      store_name: marketplace.name,
      marketplace: marketplace.id,
      channel: order.channel?.label ?? order.channel?.code ?? marketplace.name,
      shipping_country: order.buyer.shippingCountryIso3 ?? '',
      has_incident: order.hasIncident,
      products: order.lines.map(product),
      refunds: [],
      cancellations: [],
      refund_total: 0,
      cancelled_total: 0,
      net_total: order.total,
      updated_at: order.updatedAt,
    }),
  };
}

function withTotals(json: OrderRecordJson): OrderRecordJson {
  const sum = (list: Adjustment[]) => round2(list.reduce((n, a) => n + a.amount + a.delivery_amount, 0));
  const refund_total = sum(json.refunds);
  const cancelled_total = sum(json.cancellations);
  return { ...json, refund_total, cancelled_total, net_total: round2(json.order_total - refund_total - cancelled_total) };
}

function union(a: Adjustment[], b: Adjustment[]): Adjustment[] {
  const byId = new Map(a.map((x) => [x.id, x]));
  for (const x of b) byId.set(x.id, x);
  return [...byId.values()].sort((x, y) => x.id.localeCompare(y.id));
}

/**
 * Folds two versions of one order's record: order fields from the more recent Mirakl update (a late, older fact
 * never rolls status back), refunds and cancellations as a union by id (each counted once however often it
 * arrives), totals recomputed. Commutative, so facts may arrive in any order.
 */
export function mergeOrderRecord(a: OrderRecordJson | undefined, b: OrderRecordJson): OrderRecordJson {
  if (!a) return withTotals(b);
  const newer = a.updated_at > b.updated_at ? a : b;
  const cancelledWhole = [a, b].some((r) => r.order_status === 'CANCELED');
  return withTotals({
    ...newer,
    order_status: cancelledWhole ? 'CANCELED' : newer.order_status,
    refunds: union(a.refunds, b.refunds),
    cancellations: union(a.cancellations, b.cancellations),
  });
}

/** Fact → programme, only where marketing may follow: allowed marketplace, live traffic, no open incident. */
function programmeFor(event: BusinessEvent, order: Order, marketplace: MarketplaceConfig, options: DotdigitalOptions, backfill: boolean) {
  if (marketplace.marketing !== 'allowed' || backfill || order.hasIncident) return undefined;
  if (event.detailType === 'Order Confirmed') return options.programmes.confirmed;
  if (event.detailType === 'Order Shipped') return options.programmes.shipped;
  return undefined;
}

export function dotdigitalWorkFor(
  event: BusinessEvent,
  marketplace: MarketplaceConfig,
  options: DotdigitalOptions,
  mode: { backfill?: boolean } = {},
): DotdigitalWork {
  if (event.source !== 'marketbridge.mirakl' || !('order' in event.detail)) {
    throw new PermanentError(`${event.detailType} is not an order event and is not routed to Dotdigital`);
  }
  const { order } = event.detail;
  const backfill = (mode.backfill ?? false) || event.detail.backfill;
  const record = orderRecordFor(order, marketplace);
  switch (event.detailType) {
    case 'Order Confirmed':
    case 'Order Shipped':
    case 'Order Received':
    case 'Order Incident Opened':
    case 'Order Incident Closed':
      break;
    case 'Order Refunded': {
      const { refund } = event.detail;
      const adjustment = { id: refund.refundId, amount: refund.amount, delivery_amount: refund.shippingAmount, reason: refund.reasonCode ?? '' };
      record.json = withTotals({ ...record.json, refunds: [adjustment] });
      break;
    }
    case 'Order Cancelled': {
      const { cancellation } = event.detail;
      // A whole-order cancellation has no cancelation id: the order itself is the adjustment.
      const adjustment = cancellation
        ? {
            id: cancellation.cancellationId,
            amount: cancellation.amount,
            delivery_amount: cancellation.shippingAmount,
            reason: cancellation.reasonCode ?? '',
          }
        : { id: 'order', amount: event.detail.amount, delivery_amount: 0, reason: '' };
      const status = event.detail.scope === 'order' ? 'CANCELED' : record.json.order_status;
      record.json = withTotals({ ...record.json, order_status: status, cancellations: [adjustment] });
      break;
    }
    default:
      throw new PermanentError(`${event.detailType} is not routed to Dotdigital`);
  }
  return {
    eventId: event.id,
    identity: contactIdentityFor(order, options),
    contact: contactFor(order, marketplace, options),
    record,
    programme: programmeFor(event, order, marketplace, options, backfill),
    backfill,
  };
}
