/**
 * Tolerant reading of Mirakl OR11 orders. Mirakl's own example breaks its schema (nulls in non-nullable fields,
 * deprecated required fields absent) and Mirakl adds enum values without notice, so only what the product uses is
 * validated, enums are plain strings, and unknown fields pass through untouched.
 */
import * as z from 'zod';

/** Order states of OR11 we understand; anything else is kept but never produces a purchase fact. */
export const KNOWN_ORDER_STATES = [
  'STAGING',
  'WAITING_ACCEPTANCE',
  'WAITING_DEBIT',
  'WAITING_DEBIT_PAYMENT',
  'SHIPPING',
  'SHIPPED',
  'TO_COLLECT',
  'RECEIVED',
  'CLOSED',
  'REFUSED',
  'CANCELED',
] as const;
/** Line states add INCIDENT_OPEN and REFUNDED; WAITING_REFUND* are deprecated but still documented. */
export const KNOWN_LINE_STATES = [
  ...KNOWN_ORDER_STATES,
  'INCIDENT_OPEN',
  'REFUNDED',
  'WAITING_REFUND',
  'WAITING_REFUND_PAYMENT',
] as const;

const amount = z.number().nullish().transform((v) => v ?? 0);
const text = z.string().nullish();
const isoDate = z.string().nullish();

const AddressSchema = z
  .object({
    firstname: text,
    lastname: text,
    street_1: text,
    street_2: text,
    zip_code: text,
    city: text,
    state: text,
    country: text,
    country_iso_code: text,
    phone: text,
  })
  .loose();

const CustomerSchema = z
  .object({
    customer_id: z.string().nullish(),
    firstname: text,
    lastname: text,
    civility: text,
    locale: text,
    billing_address: AddressSchema.nullish(),
    shipping_address: AddressSchema.nullish(),
  })
  .loose();

const RefundSchema = z
  .object({
    id: z.union([z.string(), z.number()]).transform(String),
    order_refund_id: text,
    amount: amount,
    shipping_amount: amount,
    quantity: z.number().nullish(),
    reason_code: text,
    refund_state: text,
    /** Deprecated predecessor of refund_state. */
    state: text,
    commission_total_amount: amount,
    created_date: isoDate,
    transaction_date: isoDate,
  })
  .loose();

const CancelationSchema = z
  .object({
    id: z.union([z.string(), z.number()]).transform(String),
    amount: amount,
    shipping_amount: amount,
    quantity: z.number().nullish(),
    reason_code: text,
    commission_total_amount: amount,
    created_date: isoDate,
  })
  .loose();

const AdditionalFieldSchema = z.object({ code: z.string(), value: z.unknown() }).loose();

const OrderLineSchema = z
  .object({
    order_line_id: z.string().min(1),
    order_line_index: z.number().nullish(),
    order_line_state: z.string().min(1),
    offer_sku: text,
    product_sku: text,
    product_title: text,
    category_code: text,
    category_label: text,
    product_medias: z.array(z.object({ media_url: text }).loose()).nullish(),
    quantity: z.number().nullish().transform((v) => v ?? 0),
    price_unit: amount,
    price: amount,
    shipping_price: amount,
    total_price: amount,
    commission_fee: amount,
    total_commission: amount,
    refunds: z.array(RefundSchema).nullish().transform((v) => v ?? []),
    cancelations: z.array(CancelationSchema).nullish().transform((v) => v ?? []),
    order_line_additional_fields: z.array(AdditionalFieldSchema).nullish().transform((v) => v ?? []),
    created_date: isoDate,
    last_updated_date: isoDate,
    debited_date: isoDate,
    shipped_date: isoDate,
    received_date: isoDate,
  })
  .loose();

export const MiraklOrderSchema = z
  .object({
    order_id: z.string().min(1),
    commercial_id: text,
    order_state: z.string().min(1),
    created_date: z.string().min(1),
    last_updated_date: z.string().min(1),
    acceptance_decision_date: isoDate,
    customer_debited_date: isoDate,
    shipping_deadline: isoDate,
    channel: z.object({ code: text, label: text }).loose().nullish(),
    currency_iso_code: z.string().nullish(),
    price: amount,
    shipping_price: amount,
    total_price: amount,
    total_commission: amount,
    has_incident: z.boolean().nullish(),
    payment_workflow: text,
    customer_notification_email: text,
    customer: CustomerSchema.nullish(),
    shipping_carrier_code: text,
    shipping_company: text,
    shipping_tracking: text,
    shipping_tracking_url: text,
    order_additional_fields: z.array(AdditionalFieldSchema).nullish().transform((v) => v ?? []),
    order_lines: z.array(OrderLineSchema),
  })
  .loose();

export type MiraklOrder = z.infer<typeof MiraklOrderSchema>;
export type MiraklOrderLine = MiraklOrder['order_lines'][number];
export type MiraklRefund = MiraklOrderLine['refunds'][number];
export type MiraklCancelation = MiraklOrderLine['cancelations'][number];

/** OR11 page envelope; orders stay unknown here so one bad order never fails the page. */
export const OrdersPageSchema = z
  .object({
    orders: z.array(z.unknown()),
    total_count: z.number().int().nonnegative().nullish(),
  })
  .loose();
export type OrdersPage = z.infer<typeof OrdersPageSchema>;

export type OrderReading =
  | { ok: true; order: MiraklOrder }
  | { ok: false; orderId: string | undefined; problems: string[] };

/** Reads one raw order; failures name the fields, so the exception says what to fix. */
export function readOrder(raw: unknown): OrderReading {
  const result = MiraklOrderSchema.safeParse(raw);
  if (result.success) return { ok: true, order: result.data };
  const orderId =
    raw && typeof raw === 'object' && typeof (raw as { order_id?: unknown }).order_id === 'string'
      ? (raw as { order_id: string }).order_id
      : undefined;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(order)'}: ${issue.message}`);
  return { ok: false, orderId, problems };
}

export function isKnownOrderState(state: string): boolean {
  return (KNOWN_ORDER_STATES as readonly string[]).includes(state);
}

export function isKnownLineState(state: string): boolean {
  return (KNOWN_LINE_STATES as readonly string[]).includes(state);
}
