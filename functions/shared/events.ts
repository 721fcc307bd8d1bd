/**
 * The business events on the MarketBridge bus: versioned zod schemas, their detail types, sources and the
 * deterministic event ids that serve as idempotency keys end to end. Producers, consumers, the local runtime and
 * the tests import this module; nothing else restates these shapes.
 */
import * as z from 'zod';
import { CONNECTOR_NAMES } from './config';

export const SOURCE_MIRAKL = 'marketbridge.mirakl';
export const SOURCE_SFCC = 'marketbridge.sfcc';
export const SOURCE_PRIVACY = 'marketbridge.privacy';
export const SCHEMA_VERSION = 1;

export const MIRAKL_DETAIL_TYPES = [
  'Order Awaiting Acceptance',
  'Order Confirmed',
  'Order Shipped',
  'Order Received',
  'Order Cancelled',
  'Order Refunded',
  'Order Incident Opened',
  'Order Incident Closed',
  'Order Refused',
] as const;
export const SFCC_DETAIL_TYPES = ['Stock Changed', 'Shipment Dispatched'] as const;
/** A buyer's erasure (their request, or Mirakl reporting them anonymised), delivered to every destination. */
export const PRIVACY_DETAIL_TYPES = ['Customer Erasure Requested'] as const;
export type MiraklDetailType = (typeof MIRAKL_DETAIL_TYPES)[number];
export type SfccDetailType = (typeof SFCC_DETAIL_TYPES)[number];
export type PrivacyDetailType = (typeof PRIVACY_DETAIL_TYPES)[number];
export type DetailType = MiraklDetailType | SfccDetailType | PrivacyDetailType;

const isoDateTime = z.iso.datetime({ offset: true });
const money = z.number().finite();

const AddressSchema = z.object({
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  street1: z.string().nullable(),
  street2: z.string().nullable(),
  postalCode: z.string().nullable(),
  city: z.string().nullable(),
  region: z.string().nullable(),
  /** ISO 3166 alpha-3 as Mirakl sends it. */
  countryIso3: z.string().nullable(),
  phone: z.string().nullable(),
});

export const BuyerSchema = z.object({
  customerId: z.string().min(1),
  /** Channel-distinguished identity: never merges with first-party customers by accident. */
  identity: z.string().regex(/^mirakl:[a-z][a-z0-9-]+:.+$/),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  civility: z.string().nullable(),
  locale: z.string().nullable(),
  /** Present only when the marketplace's relay policy is `transactional`; never a marketing address. */
  relayEmail: z.string().nullable(),
  shippingCountryIso3: z.string().nullable(),
  shippingAddress: AddressSchema.nullable(),
  billingAddress: AddressSchema.nullable(),
});
export type Buyer = z.infer<typeof BuyerSchema>;

export const OrderLineSchema = z.object({
  lineId: z.string().min(1),
  index: z.number().int().nullable(),
  state: z.string(),
  offerSku: z.string().nullable(),
  productSku: z.string().nullable(),
  productTitle: z.string().nullable(),
  categoryCode: z.string().nullable(),
  categoryLabel: z.string().nullable(),
  brand: z.string().nullable(),
  imageUrl: z.string().nullable(),
  quantity: z.number(),
  unitPrice: money,
  /** Line price without shipping. */
  price: money,
  shippingPrice: money,
  totalPrice: money,
  commissionFee: money,
  commissionTotal: money,
  shippedAt: isoDateTime.nullable(),
  receivedAt: isoDateTime.nullable(),
});
export type OrderLine = z.infer<typeof OrderLineSchema>;

export const TrackingSchema = z.object({
  carrierCode: z.string().nullable(),
  carrierName: z.string().nullable(),
  trackingNumber: z.string().nullable(),
  trackingUrl: z.string().nullable(),
});

/** The normalised order every Mirakl event carries, so consumers never call back to Mirakl. */
export const OrderSchema = z.object({
  orderId: z.string().min(1),
  commercialId: z.string().nullable(),
  state: z.string(),
  channel: z.object({ code: z.string().nullable(), label: z.string().nullable() }).nullable(),
  currency: z.string().length(3),
  /** Sum of line prices, without shipping. */
  subtotal: money,
  shippingTotal: money,
  total: money,
  commissionTotal: money,
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  acceptedAt: isoDateTime.nullable(),
  debitedAt: isoDateTime.nullable(),
  shippingDeadline: isoDateTime.nullable(),
  paymentWorkflow: z.string().nullable(),
  /** An open incident or dispute: review and solicitation flows exclude these orders. */
  hasIncident: z.boolean(),
  buyer: BuyerSchema,
  lines: z.array(OrderLineSchema),
  tracking: TrackingSchema.nullable(),
});
export type Order = z.infer<typeof OrderSchema>;

const common = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  eventId: z.string().min(1),
  marketplace: z.string().min(1),
  /** When the business fact happened in Mirakl (UTC), not when we processed it. */
  occurredAt: isoDateTime,
  /** History loads: destinations must not fire live flows or journeys. */
  backfill: z.boolean().default(false),
  /** A history load aimed at these connectors only; every other connector leaves the event alone. */
  connectors: z.array(z.enum(CONNECTOR_NAMES)).min(1).optional(),
};

const orderEvent = <T extends z.ZodRawShape>(extra: T) => z.object({ ...common, order: OrderSchema, ...extra });

export const RefundSchema = z.object({
  refundId: z.string(),
  orderRefundId: z.string().nullable(),
  amount: money,
  shippingAmount: money,
  quantity: z.number().nullable(),
  reasonCode: z.string().nullable(),
  commissionTotal: money,
  line: OrderLineSchema,
});

export const CancellationSchema = z.object({
  cancellationId: z.string(),
  amount: money,
  shippingAmount: money,
  quantity: z.number().nullable(),
  reasonCode: z.string().nullable(),
  commissionTotal: money,
  line: OrderLineSchema,
});

export const detailSchemas = {
  'Order Awaiting Acceptance': orderEvent({ acceptanceDeadline: isoDateTime }),
  'Order Confirmed': orderEvent({}),
  'Order Shipped': orderEvent({}),
  'Order Received': orderEvent({}),
  'Order Refused': orderEvent({}),
  /** `cancellation` is null when the whole order was cancelled after confirmation. */
  'Order Cancelled': orderEvent({
    scope: z.enum(['order', 'line']),
    cancellation: CancellationSchema.nullable(),
    amount: money,
  }),
  'Order Refunded': orderEvent({ refund: RefundSchema }),
  'Order Incident Opened': orderEvent({ lineId: z.string(), occurrence: z.number().int().positive() }),
  'Order Incident Closed': orderEvent({ lineId: z.string(), occurrence: z.number().int().positive() }),
  'Stock Changed': z.object({
    ...common,
    items: z.array(z.object({ productId: z.string().min(1), availableToSell: z.number().nonnegative() })).min(1),
  }),
  'Shipment Dispatched': z.object({
    ...common,
    orderId: z.string().min(1),
    shipmentId: z.string().min(1),
    carrier: z.string().min(1),
    trackingNumber: z.string().min(1),
    trackingUrl: z.string().nullable(),
    /** The Mirakl order lines in this parcel (ST01 needs at least one). */
    lines: z.array(z.object({ lineId: z.string().min(1), quantity: z.number().int().positive() })).min(1),
  }),
  /** Identifiers only: the destinations find the buyer by the identity they were keyed with. */
  'Customer Erasure Requested': z.object({
    ...common,
    customerId: z.string().min(1),
    identity: BuyerSchema.shape.identity,
    reason: z.enum(['request', 'mirakl-anonymised']),
  }),
} as const satisfies Record<DetailType, z.ZodType>;

export type DetailOf<T extends DetailType> = z.infer<(typeof detailSchemas)[T]>;
export type DetailInputOf<T extends DetailType> = z.input<(typeof detailSchemas)[T]>;

/** A business event as published: EventBridge's Source / DetailType / Detail plus its idempotency key. */
export type BusinessEvent<T extends DetailType = DetailType> = {
  [K in T]: { id: string; source: string; detailType: K; detail: DetailOf<K> };
}[T];

export function sourceOf(detailType: DetailType): string {
  if ((PRIVACY_DETAIL_TYPES as readonly string[]).includes(detailType)) return SOURCE_PRIVACY;
  return (SFCC_DETAIL_TYPES as readonly string[]).includes(detailType) ? SOURCE_SFCC : SOURCE_MIRAKL;
}

/** Builds a validated event; a producer bug fails here rather than downstream. */
export function businessEvent<T extends DetailType>(detailType: T, detail: DetailInputOf<T>): BusinessEvent<T> {
  const parsed = detailSchemas[detailType].parse(detail) as DetailOf<T>;
  return { id: parsed.eventId, source: sourceOf(detailType), detailType, detail: parsed } as BusinessEvent<T>;
}

const DETAIL_TYPES: readonly string[] = [...MIRAKL_DETAIL_TYPES, ...SFCC_DETAIL_TYPES, ...PRIVACY_DETAIL_TYPES];
export function isDetailType(value: string): value is DetailType {
  return DETAIL_TYPES.includes(value);
}

/**
 * The envelope EventBridge delivers to a target (an SQS queue here), its documented top-level fields; `replay-name`
 * marks an archive replay. Ours rather than Powertools' schema, whose `import { z }` keeps all of zod (every
 * locale) in each bundle: about 350 KB of a connector's 700.
 */
export const EventEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
  'replay-name': z.string().optional(),
});

/** Parses an EventBridge event (as delivered to SQS) into a business event, or explains why it is not one. */
export function parseBusinessEvent(raw: {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: unknown;
}): BusinessEvent {
  const detailType = raw['detail-type'];
  if (typeof detailType !== 'string' || !isDetailType(detailType)) {
    throw new Error(`unknown detail-type ${JSON.stringify(detailType)}`);
  }
  if (raw.source !== sourceOf(detailType)) {
    throw new Error(`detail-type "${detailType}" must come from ${sourceOf(detailType)}, not ${String(raw.source)}`);
  }
  const detail = detailSchemas[detailType].parse(raw.detail);
  return { id: detail.eventId, source: raw.source, detailType, detail } as BusinessEvent;
}

/** Deterministic ids, derived from the business fact (PRODUCT.md §2). */
export const eventIds = {
  awaitingAcceptance: (mp: string, orderId: string) => `${mp}:${orderId}:awaiting-acceptance`,
  confirmed: (mp: string, orderId: string) => `${mp}:${orderId}:confirmed`,
  shipped: (mp: string, orderId: string) => `${mp}:${orderId}:shipped`,
  received: (mp: string, orderId: string) => `${mp}:${orderId}:received`,
  refused: (mp: string, orderId: string) => `${mp}:${orderId}:refused`,
  cancelled: (mp: string, orderId: string) => `${mp}:${orderId}:cancelled`,
  cancellation: (mp: string, orderId: string, cancelationId: string) => `${mp}:${orderId}:cancel:${cancelationId}`,
  refund: (mp: string, orderId: string, refundId: string) => `${mp}:${orderId}:refund:${refundId}`,
  incidentOpened: (mp: string, orderId: string, lineId: string, n: number) =>
    `${mp}:${orderId}:incident-opened:${lineId}:${n}`,
  incidentClosed: (mp: string, orderId: string, lineId: string, n: number) =>
    `${mp}:${orderId}:incident-closed:${lineId}:${n}`,
  /** Per-line product events downstream (e.g. Klaviyo "Ordered Product"). */
  line: (mp: string, orderId: string, lineId: string) => `${mp}:${orderId}:line:${lineId}`,
  buyerIdentity: (mp: string, customerId: string) => `mirakl:${mp}:${customerId}`,
  /** SFCC facts: one per shipment, one per stock change notification (its id from SFCC). */
  shipmentDispatched: (mp: string, orderId: string, shipmentId: string) => `${mp}:${orderId}:dispatched:${shipmentId}`,
  stockChanged: (mp: string, changeId: string) => `${mp}:stock-changed:${changeId}`,
  /** One erasure per buyer: a repeated request or another anonymised order of theirs is the same fact. */
  erasure: (mp: string, customerId: string) => `${mp}:customer:${customerId}:erasure`,
};
