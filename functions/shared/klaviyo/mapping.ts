/**
 * Pure mapping from MarketBridge business events to Klaviyo profiles and events (revision 2026-07-15).
 *
 * Consent rules live here, in one place: the profile is keyed by `external_id` = `mirakl:{mp}:{customer_id}`,
 * never carries `email` or `phone_number` (the relay address is not the buyer's own, and SMS needs consent we do
 * not have), and nothing here ever produces `subscriptions`.
 */
import type { ConnectorName, KlaviyoConnectorConfig, MarketplaceConfig } from '../config';
import { PermanentError } from '../connector/failures';
import { type BusinessEvent, type Order, type OrderLine, eventIds } from '../events';

export type KlaviyoMetrics = KlaviyoConnectorConfig['metrics'];
export type KlaviyoOptions = Pick<KlaviyoConnectorConfig, 'metrics' | 'relayEmailProperty'>;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Properties = { [key: string]: Json };

/** Profile attributes for profile-import; every identifier but `external_id` is deliberately absent. */
export interface KlaviyoProfile {
  external_id: string;
  first_name?: string;
  last_name?: string;
  locale?: string;
  location?: { country: string };
  properties: Properties;
}

export interface KlaviyoEvent {
  metric: string;
  /** Dedup key, per profile and metric: the business event id (or the line id for per-line events). */
  unique_id: string;
  /** Business time from Mirakl, never the processing time. */
  time: string;
  value?: number;
  value_currency: string;
  properties: Properties;
}

/** Everything one business event means for Klaviyo. */
export interface KlaviyoWork {
  eventId: string;
  externalId: string;
  /** Set only when the event carries what the profile is made of (the order's confirmation). */
  profile: KlaviyoProfile | undefined;
  events: KlaviyoEvent[];
  /** History load: Klaviyo records the events without firing flows. */
  backfill: boolean;
}

export const KLAVIYO = 'klaviyo' satisfies ConnectorName;

/** Drops null/undefined so profile-import leaves unknown fields unchanged instead of clearing them. */
function compact<T extends Record<string, unknown>>(record: T): { [K in keyof T]: Exclude<T[K], null | undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], null | undefined>;
  };
}

const unique = (values: (string | null)[]): string[] => [...new Set(values.filter((v): v is string => !!v))];

/** Mirakl sends `en_GB`; Klaviyo profiles use BCP 47 (`en-GB`). */
export function toBcp47(locale: string | null): string | undefined {
  return locale ? locale.replace(/_/g, '-') : undefined;
}

export function profileFor(order: Order, marketplace: MarketplaceConfig, options: KlaviyoOptions): KlaviyoProfile {
  const buyer = order.buyer;
  const properties: Properties = {
    marketplace: marketplace.id,
    marketplace_channel: order.channel?.label ?? order.channel?.code ?? marketplace.name,
    marketing_allowed: marketplace.marketing === 'allowed',
  };
  // Policy is checked here too: a producer bug must not turn into a relay address in Klaviyo.
  if (marketplace.relayEmail.policy === 'transactional' && buyer.relayEmail) {
    properties[options.relayEmailProperty] = buyer.relayEmail;
  }
  return compact({
    external_id: buyer.identity,
    first_name: buyer.firstName,
    last_name: buyer.lastName,
    locale: toBcp47(buyer.locale),
    // ISO 3166 alpha-3 as Mirakl gives it; Klaviyo's country is free text.
    location: buyer.shippingCountryIso3 ? { country: buyer.shippingCountryIso3 } : undefined,
    properties,
  });
}

function item(line: OrderLine): Properties {
  return compact({
    SKU: line.offerSku,
    ProductID: line.productSku,
    ProductName: line.productTitle,
    Quantity: line.quantity,
    ItemPrice: line.unitPrice,
    RowTotal: line.price,
    Categories: unique([line.categoryLabel ?? line.categoryCode]),
    Brand: line.brand,
    ImageURL: line.imageUrl,
  });
}

/** Order-level properties; the top-level arrays exist because Klaviyo segments cannot filter inside Items[]. */
function orderProperties(order: Order, marketplace: MarketplaceConfig, lines: OrderLine[]): Properties {
  return compact({
    OrderId: order.orderId,
    CommercialId: order.commercialId,
    Marketplace: marketplace.name,
    Channel: order.channel?.label ?? order.channel?.code,
    Currency: order.currency,
    Items: lines.map(item),
    ItemNames: unique(lines.map((l) => l.productTitle)),
    Categories: unique(lines.map((l) => l.categoryLabel ?? l.categoryCode)),
    Brands: unique(lines.map((l) => l.brand)),
    HasIncident: order.hasIncident,
  });
}

function orderedProduct(order: Order, marketplace: MarketplaceConfig, line: OrderLine): Properties {
  return compact({
    OrderId: order.orderId,
    Marketplace: marketplace.name,
    Currency: order.currency,
    ...item(line),
    ProductBrand: line.brand,
  });
}

/** What a business event means for Klaviyo: the profile to upsert (if any) and the events to record. */
export function klaviyoWorkFor(
  event: BusinessEvent,
  marketplace: MarketplaceConfig,
  options: KlaviyoOptions,
  mode: { backfill?: boolean } = {},
): KlaviyoWork {
  const metrics = options.metrics;
  const base = { eventId: event.id, backfill: (mode.backfill ?? false) || event.detail.backfill };
  if (event.source !== 'marketbridge.mirakl' || !('order' in event.detail)) {
    throw new PermanentError(`${event.detailType} is not an order event and is not routed to Klaviyo`);
  }
  const { order } = event.detail;
  const at = { time: event.detail.occurredAt, value_currency: order.currency };
  const work = (events: KlaviyoEvent[], profile?: KlaviyoProfile): KlaviyoWork => ({
    ...base,
    externalId: order.buyer.identity,
    profile,
    events,
  });

  switch (event.detailType) {
    case 'Order Confirmed': {
      const placed: KlaviyoEvent = {
        metric: metrics.placedOrder,
        unique_id: event.id,
        value: order.total,
        ...at,
        properties: orderProperties(order, marketplace, order.lines),
      };
      // One per line, each with its own unique_id: Klaviyo keeps only the first event per id, profile and metric.
      const lines = order.lines.map(
        (line): KlaviyoEvent => ({
          metric: metrics.orderedProduct,
          unique_id: eventIds.line(event.detail.marketplace, order.orderId, line.lineId),
          value: line.price,
          ...at,
          properties: orderedProduct(order, marketplace, line),
        }),
      );
      return work([placed, ...lines], profileFor(order, marketplace, options));
    }
    case 'Order Shipped': {
      const tracking = order.tracking;
      const properties = orderProperties(order, marketplace, order.lines);
      if (tracking) {
        properties.Tracking = compact({
          Carrier: tracking.carrierName ?? tracking.carrierCode,
          TrackingNumber: tracking.trackingNumber,
          TrackingUrl: tracking.trackingUrl,
        });
      }
      return work([{ metric: metrics.fulfilledOrder, unique_id: event.id, value: order.total, ...at, properties }]);
    }
    case 'Order Cancelled': {
      const { cancellation } = event.detail;
      const lines = cancellation ? [cancellation.line] : order.lines;
      const properties = {
        ...orderProperties(order, marketplace, lines),
        ...compact({
          Scope: event.detail.scope,
          Reason: cancellation?.reasonCode,
          CancelledQuantity: cancellation?.quantity,
          ShippingAmount: cancellation?.shippingAmount,
        }),
      };
      return work([{ metric: metrics.cancelledOrder, unique_id: event.id, value: event.detail.amount, ...at, properties }]);
    }
    case 'Order Refunded': {
      const { refund } = event.detail;
      const properties = {
        ...orderProperties(order, marketplace, [refund.line]),
        ...compact({
          RefundId: refund.refundId,
          Reason: refund.reasonCode,
          RefundedQuantity: refund.quantity,
          ItemAmount: refund.amount,
          ShippingAmount: refund.shippingAmount,
        }),
      };
      // Placed Order's value includes shipping, so the refunded shipping counts too: net revenue stays right.
      const value = refund.amount + refund.shippingAmount;
      return work([{ metric: metrics.refundedOrder, unique_id: event.id, value, ...at, properties }]);
    }
    case 'Order Incident Opened':
    case 'Order Incident Closed': {
      const line = order.lines.find((l) => l.lineId === event.detail.lineId);
      const metric = event.detailType === 'Order Incident Opened' ? metrics.incidentOpened : metrics.incidentClosed;
      // Lets review and solicitation flows exclude orders in dispute (a flow filter on this metric).
      const properties: Properties = compact({
        OrderId: order.orderId,
        Marketplace: marketplace.name,
        LineId: event.detail.lineId,
        SKU: line?.offerSku,
        ProductName: line?.productTitle,
      });
      return work([{ metric, unique_id: event.id, ...at, properties }]);
    }
    case 'Order Received':
      // Klaviyo has no delivery metric in its e-commerce conventions; Fulfilled Order already closed the loop.
      return work([]);
    default:
      throw new PermanentError(`${event.detailType} is not routed to Klaviyo`);
  }
}
