/**
 * The SFCC wire shapes MarketBridge sends and reads, as zod schemas written from the vendor documents (SCAPI Orders
 * 1.5.2 `CreateOrderRequest`/`Order`, SLAS `TokenResponse`, OCAPI Data 25.6 `product_inventory_record(s)`, Account
 * Manager's token response). The connector types its bodies with them, the sandbox validates with them, and the
 * contract tests prove they agree with `../shared/specs/sfcc/`.
 */
import * as z from 'zod';

/**
 * SCAPI documents accept extra properties only when prefixed `c_` (custom attributes, configured in Business Manager):
 * "The type will reject any property that does not fit this pattern".
 */
function withCustomAttributes<T extends z.ZodRawShape>(shape: T) {
  return z
    .object(shape)
    .catchall(z.unknown())
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!(key in shape) && !key.startsWith('c_')) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'unknown property (custom attributes start with c_)' });
        }
      }
    });
}

const text256 = z.string().max(256);
const money = z.number().finite();

export const ORGANIZATION_ID = /^f_ecom_[a-z]{4}_(prd|stg|dev|s[0-9]{2}|[0-9]{3})$/;

export const AddressSchema = withCustomAttributes({
  address1: text256.optional(),
  address2: text256.optional(),
  city: text256.optional(),
  companyName: text256.optional(),
  countryCode: z.string().regex(/^[A-Z][A-Z]$/).optional(),
  firstName: text256.optional(),
  fullName: text256.optional(),
  lastName: text256.optional(),
  jobTitle: text256.optional(),
  phone: text256.optional(),
  postBox: text256.optional(),
  postalCode: text256.optional(),
  salutation: text256.optional(),
  secondName: text256.optional(),
  stateCode: text256.optional(),
  suffix: text256.optional(),
  suite: text256.optional(),
  title: text256.optional(),
});
export type ScapiAddress = z.infer<typeof AddressSchema>;

/** Ad-hoc adjustments; their (negative) gross prices and taxes count in the order's totals. */
export const CreateOrderPriceAdjustmentSchema = withCustomAttributes({
  amount: money.optional(),
  basePrice: money.optional(),
  grossPrice: money,
  itemText: z.string().optional(),
  netPrice: money,
  reasonCode: z.string().optional(),
  tax: money,
  taxBasis: money.optional(),
});

const TaxItemSchema = withCustomAttributes({ id: z.string().optional(), rate: money.optional(), value: money.optional() });

const CreateOrderOptionItemSchema = withCustomAttributes({
  basePrice: money,
  grossPrice: money,
  itemText: text256.optional(),
  netPrice: money,
  optionId: z.string().min(1).max(256),
  optionValueId: z.string().min(1).max(256),
  priceAdjustments: z.array(CreateOrderPriceAdjustmentSchema).max(20).optional(),
  productId: z.string().min(1).max(100),
  tax: money,
  taxBasis: money.optional(),
});

export const CreateOrderProductItemSchema = withCustomAttributes({
  basePrice: money,
  brand: text256.optional(),
  grossPrice: money,
  itemText: z.string().optional(),
  netPrice: money,
  optionItems: z.array(CreateOrderOptionItemSchema).max(10).optional(),
  priceAdjustments: z.array(CreateOrderPriceAdjustmentSchema).max(20).optional(),
  productId: z.string().min(1).max(100),
  productName: text256.optional(),
  quantity: z.number().min(0),
  /** `me` is reserved for the platform's standard shipment. */
  shipmentId: z.string().min(1).max(256).refine((id) => id !== 'me', 'shipment id "me" is reserved'),
  tax: money,
  taxBasis: money.optional(),
  taxItems: z.array(TaxItemSchema).max(10).optional(),
  taxRate: money.optional(),
});

export const CreateOrderShipmentSchema = withCustomAttributes({
  shipmentId: z.string().min(1).max(256).refine((id) => id !== 'me', 'shipment id "me" is reserved'),
  shippingMethod: z.string(),
  shippingAddress: AddressSchema,
  shippingTotal: money,
  taxTotal: money,
});

export const CreateOrderPaymentInstrumentSchema = withCustomAttributes({
  paymentMethodId: z.string().max(256),
  paymentTransaction: withCustomAttributes({
    amount: money,
    authorizationStatus: z.object({}).loose().optional(),
    transactionId: z.string().max(256),
  }).optional(),
});

export const CHANNEL_TYPES = [
  'storefront', 'callcenter', 'marketplace', 'dss', 'store', 'pinterest', 'twitter', 'facebookads', 'subscriptions',
  'onlinereservation', 'customerservicecenter', 'instagramcommerce', 'tiktok', 'snapchat', 'google', 'whatsapp', 'youtube',
] as const;

export const CreateOrderRequestSchema = withCustomAttributes({
  billingAddress: AddressSchema,
  businessType: z.enum(['b2c', 'b2b']).optional(),
  channelType: z.enum(CHANNEL_TYPES).optional(),
  currency: z.string().regex(/^[A-Z][A-Z][A-Z]$/),
  customerLocale: z.string().max(256).optional(),
  orderNo: z.string().min(1).max(50).optional(),
  orderPriceAdjustments: z.array(CreateOrderPriceAdjustmentSchema).max(20).optional(),
  orderTotal: money,
  paymentInstruments: z.array(CreateOrderPaymentInstrumentSchema).max(20),
  paymentStatus: z.enum(['paid', 'not_paid']).optional(),
  productItems: z.array(CreateOrderProductItemSchema).min(1).max(200),
  shipments: z.array(CreateOrderShipmentSchema).min(1).max(10),
  taxTotal: money,
});
export type CreateOrderRequest = z.infer<typeof CreateOrderRequestSchema>;
export type CreateOrderProductItem = z.infer<typeof CreateOrderProductItemSchema>;

export const ORDER_STATUSES = ['created', 'new', 'completed', 'cancelled', 'failed', 'failed_with_reopen'] as const;
export const OrderStatusUpdateSchema = z.object({ status: z.enum(ORDER_STATUSES) }).strict();
export const OrderExternalStatusUpdateSchema = z.object({ status: z.string().min(1).max(256) }).strict();
/** `not_exported` is the default; an order export selects `ready` (or anything not `exported`) orders. */
export const EXPORT_STATUSES = ['exported', 'not_exported', 'ready', 'failed'] as const;
export const OrderExportStatusUpdateSchema = z.object({ status: z.enum(EXPORT_STATUSES) }).strict();
export const SHIPPING_STATUSES = ['shipped', 'part_shipped', 'not_shipped'] as const;
export const OrderShippingStatusUpdateSchema = z.object({ status: z.enum(SHIPPING_STATUSES) }).strict();
/** `updateOrder` takes custom attributes only. */
export const OrderUpdateSchema = withCustomAttributes({});

/** The part of SCAPI's `Order` MarketBridge reads: identity, statuses, custom attributes and shipments (dispatch). */
export const OrderSchema = z
  .object({
    orderNo: z.string(),
    status: z.enum(['created', 'new', 'completed', 'cancelled', 'failed']).optional(),
    externalOrderStatus: z.string().optional(),
    exportStatus: z.enum(EXPORT_STATUSES).optional(),
    shippingStatus: z.enum(SHIPPING_STATUSES).optional(),
    channelType: z.string().optional(),
    currency: z.string().optional(),
    orderTotal: z.number().optional(),
    lastModified: z.string().optional(),
    productItems: z
      .array(z.object({ productId: z.string(), quantity: z.number().optional(), shipmentId: z.string() }).loose())
      .optional(),
    shipments: z
      .array(
        z
          .object({
            shipmentId: z.string(),
            shipmentNo: z.string().optional(),
            shippingMethod: z.object({ id: z.string() }).loose().optional(),
            shippingStatus: z.enum(['not_shipped', 'shipped']).optional(),
            trackingNumber: z.string().optional(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();
export type ScapiOrder = z.infer<typeof OrderSchema>;

export const OrdersResponseSchema = z.object({ data: z.array(OrderSchema) }).strict();

/** getOrders pages: at most 200 orders, and offset + limit at most 10,000. */
export const ORDERS_PAGE_MAX = 200;
export const ORDERS_OFFSET_LIMIT = 10_000;

/** RFC 7807 problem details, as SCAPI answers errors. */
export const ErrorResponseSchema = z
  .object({ title: z.string().max(256), type: z.string().max(2048), detail: z.string(), instance: z.string().optional() })
  .loose();

/** SLAS `TokenResponse` (trusted-system token): the fields the spec requires. */
export const SlasTokenResponseSchema = z
  .object({
    access_token: z.string().min(1),
    id_token: z.string(),
    refresh_token: z.string(),
    expires_in: z.number().int().positive(),
    refresh_token_expires_in: z.number(),
    token_type: z.literal('Bearer'),
    usid: z.string(),
    customer_id: z.string(),
    enc_user_id: z.string(),
    idp_access_token: z.string(),
  })
  .loose();

/** Account Manager client-credentials response (OAuth 2.0, RFC 6749 §5.1). */
export const AmTokenResponseSchema = z
  .object({
    access_token: z.string().min(1),
    token_type: z.string(),
    expires_in: z.number().int().positive(),
    scope: z.string().optional(),
  })
  .loose();

export const InventoryRecordSchema = z
  .object({
    product_id: z.string().min(1).max(256),
    inventory_list_id: z.string().optional(),
    allocation: z.object({ amount: z.number().min(0), reset_date: z.string().optional() }).loose().optional(),
    /** Available to sell: allocation + pre-order/back-order allocation − turnover. */
    ats: z.number().optional(),
    perpetual_flag: z.boolean().optional(),
    stock_level: z.number().optional(),
  })
  .loose();

export const InventoryRecordsSchema = z
  .object({
    count: z.number().int(),
    data: z.array(InventoryRecordSchema).optional(),
    next: z.string().optional(),
    start: z.number().int().min(0),
    total: z.number().int(),
  })
  .loose();

/** OCAPI fault document. */
export const OcapiFaultSchema = z.object({
  _v: z.string(),
  fault: z.object({ type: z.string(), message: z.string() }).loose(),
});
