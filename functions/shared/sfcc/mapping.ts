/**
 * Pure mapping of MarketBridge order events onto SCAPI Orders: the createOrders body of a confirmed order, and the
 * custom-attribute updates refunds and cancellations cause. Finance reconciles Mirakl payouts on these attributes:
 * gross (what the buyer paid), Mirakl's commission per line and in total, and net (gross − commission), kept net of
 * refunds and cancellations.
 *
 * Money is summed in minor units so `orderTotal` equals SCAPI's own sum exactly (it rejects any difference with
 * `InvalidOrderTotalException`). The normalised order carries tax-inclusive prices and no tax breakdown, so tax is 0
 * and net price equals gross price: the order passes the tax check whatever the site's taxation policy.
 */
import { createHash } from 'node:crypto';
import type { SfccConfig } from '../config';
import { PermanentError } from '../connector/failures';
import type { Buyer, DetailOf, Order, OrderLine } from '../events';
import { alpha2 } from './countries';
import type { CreateOrderProductItem, CreateOrderRequest, ScapiAddress } from './scapi';

/** The one shipment a marketplace order becomes; `me` is reserved by the platform. */
export const SHIPMENT_ID = 'marketplace';
const ORDER_NO_MAX = 50;
/** Lines refused at acceptance were never sold. */
const UNSOLD_LINE_STATES = new Set(['REFUSED']);

export type SfccAttributes = SfccConfig['attributes'];
export type SfccOrderOptions = Pick<SfccConfig, 'attributes' | 'order'>;

/**
 * The SFCC order number of a Mirakl order: the same on every retry, unique per marketplace (operators' order ids may
 * collide), within SCAPI's 50 characters (long ids keep a readable prefix and a digest of the whole).
 */
export function orderNoFor(marketplace: string, miraklOrderId: string): string {
  const plain = `${marketplace}-${miraklOrderId}`;
  if (plain.length <= ORDER_NO_MAX) return plain;
  const digest = createHash('sha256').update(plain).digest('hex').slice(0, 12);
  return `${plain.slice(0, ORDER_NO_MAX - digest.length - 1)}-${digest}`;
}

/** Decimal places of a currency's minor unit (2 for EUR, 0 for JPY). */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Sums amounts exactly at the currency's precision. */
export function moneySum(currency: string, amounts: readonly number[]): number {
  const scale = 10 ** minorDigits(currency);
  return amounts.reduce((total, amount) => total + Math.round(amount * scale), 0) / scale;
}

/** Offer SKUs with no SFCC product: an order is created whole or not at all. */
export class UnmappedSkuError extends PermanentError {
  constructor(
    readonly orderId: string,
    readonly skus: readonly string[],
  ) {
    super(`no SFCC product for offer SKU ${skus.join(', ')}: map it, then retry order ${orderId}`, {
      exceptionType: 'sku.unmapped',
    });
  }
}

export function soldLines(order: Order): OrderLine[] {
  return order.lines.filter((line) => !UNSOLD_LINE_STATES.has(line.state));
}

/** The offer SKUs a confirmed order needs products for (a line without one is reported by its line id). */
export function offerSkusOf(order: Order): string[] {
  return [...new Set(soldLines(order).map((line) => line.offerSku ?? `(line ${line.lineId} has no offer SKU)`))];
}

type Address = NonNullable<Buyer['shippingAddress']>;

function scapiAddress(address: Address): ScapiAddress {
  const country = address.countryIso3 ? alpha2(address.countryIso3) : undefined;
  const fields: ScapiAddress = {
    firstName: address.firstName ?? undefined,
    lastName: address.lastName ?? undefined,
    address1: address.street1 ?? undefined,
    address2: address.street2 ?? undefined,
    postalCode: address.postalCode ?? undefined,
    city: address.city ?? undefined,
    stateCode: address.region ?? undefined,
    countryCode: country,
    phone: address.phone ?? undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== '')) as ScapiAddress;
}

/** SCAPI names the guest customer after the billing address, so it must carry a name. */
function billingAddress(order: Order): ScapiAddress {
  const buyer = order.buyer;
  const source = buyer.billingAddress ?? buyer.shippingAddress;
  const address = source ? scapiAddress(source) : {};
  if (!address.lastName && !address.firstName) {
    if (buyer.lastName) address.lastName = buyer.lastName;
    if (buyer.firstName) address.firstName = buyer.firstName;
  }
  if (!address.lastName && !address.firstName) {
    throw new PermanentError(`order ${order.orderId} has no buyer name for the SFCC billing address`);
  }
  return address;
}

export interface FinanceTotals {
  gross: number;
  commissionTotal: number;
  net: number;
}

/** Gross, commission and net of the sold lines, as created in SFCC. */
export function financeTotals(order: Order): FinanceTotals {
  const lines = soldLines(order);
  const gross = moneySum(order.currency, lines.flatMap((l) => [l.price, l.shippingPrice]));
  const commissionTotal = moneySum(order.currency, lines.map((l) => l.commissionTotal));
  return { gross, commissionTotal, net: moneySum(order.currency, [gross, -commissionTotal]) };
}

/**
 * The createOrders body of a confirmed order. `products` maps offer SKUs to SFCC product ids; every sold line must
 * be mapped, otherwise UnmappedSkuError names all the missing SKUs at once.
 */
export function createOrderBody(
  marketplace: string,
  order: Order,
  products: ReadonlyMap<string, string>,
  options: SfccOrderOptions,
  history = false,
): CreateOrderRequest {
  const a = options.attributes;
  const lines = soldLines(order);
  if (lines.length === 0) throw new PermanentError(`order ${order.orderId} has no sold lines`);
  const missing = offerSkusOf(order).filter((sku) => !products.has(sku));
  if (missing.length > 0) throw new UnmappedSkuError(order.orderId, missing);

  const productItems = lines.map((line): CreateOrderProductItem => {
    const item: CreateOrderProductItem = {
      productId: products.get(line.offerSku as string) as string,
      quantity: line.quantity,
      basePrice: line.unitPrice,
      grossPrice: line.price,
      netPrice: line.price,
      tax: 0,
      shipmentId: SHIPMENT_ID,
      [a.lineId]: line.lineId,
      [a.lineCommissionFee]: line.commissionFee,
      [a.lineCommissionTotal]: line.commissionTotal,
    };
    if (line.productTitle) item.productName = line.productTitle.slice(0, 256);
    if (line.brand) item.brand = line.brand.slice(0, 256);
    return item;
  });
  const shippingTotal = moneySum(order.currency, lines.map((l) => l.shippingPrice));
  const totals = financeTotals(order);
  const billing = billingAddress(order);
  const shippingSource = order.buyer.shippingAddress;
  return {
    orderNo: orderNoFor(marketplace, order.orderId),
    channelType: 'marketplace',
    currency: order.currency,
    ...(order.buyer.locale ? { customerLocale: order.buyer.locale } : {}),
    billingAddress: billing,
    productItems,
    shipments: [
      {
        shipmentId: SHIPMENT_ID,
        shippingMethod: options.order.shippingMethod,
        shippingAddress: shippingSource ? scapiAddress(shippingSource) : billing,
        shippingTotal,
        taxTotal: 0,
      },
    ],
    paymentInstruments: [
      {
        paymentMethodId: options.order.paymentMethodId,
        // Mirakl collected the money: the marketplace order id is the transaction.
        paymentTransaction: { amount: totals.gross, transactionId: order.orderId },
      },
    ],
    paymentStatus: 'paid',
    orderTotal: totals.gross,
    taxTotal: 0,
    [a.miraklOrderId]: order.orderId,
    [a.marketplace]: marketplace,
    [a.gross]: totals.gross,
    [a.commissionTotal]: totals.commissionTotal,
    [a.net]: totals.net,
    // In the body, not set afterwards: whoever finds the order (a retry, a live event) knows at once what it is.
    ...(history ? { [a.historyImport]: true } : {}),
  };
}

/** Mirakl order states after the seller shipped: the parcel left (or waits at the pick-up point), nothing to fulfil. */
const SHIPPED_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED']);

/** The statuses an order from a history load is given right after its creation. */
export interface HistoryStatuses {
  exportStatus: 'exported';
  shippingStatus?: 'shipped';
  status?: 'completed';
}

/**
 * A history order was fulfilled (or is being fulfilled) outside SFCC, before MarketBridge: `exported` keeps it out
 * of the brand's order export, whether that selects `ready` orders or all not yet `exported` (SCAPI can't create an
 * order with an export status, so this is a PUT right after). One already shipped in Mirakl is shipped and completed
 * in SFCC rather than looking `new`; one still to ship stays `new` and is not exported either: it is fulfilled where
 * it was accepted.
 */
export function historyStatusesOf(order: Order): HistoryStatuses {
  if (!SHIPPED_STATES.has(order.state)) return { exportStatus: 'exported' };
  return { exportStatus: 'exported', shippingStatus: 'shipped', status: 'completed' };
}

/** One refund or cancellation applied to an SFCC order; its id makes re-applying it a no-op. */
export interface Adjustment {
  id: string;
  kind: 'refund' | 'cancel';
  /** Amount returned to the buyer, shipping included. */
  amount: number;
  /** Commission Mirakl gives back to the shop. */
  commission: number;
}

const WHOLE_ORDER_CANCEL = 'cancel:order';

type AdjustmentDetail = DetailOf<'Order Refunded'> | DetailOf<'Order Cancelled'>;

/**
 * The adjustment a refund or cancellation event stands for, given those already applied: a whole-order cancellation
 * returns whatever is still open (gross and commission not yet refunded or cancelled), so net ends at zero.
 */
export function adjustmentOf(
  detailType: 'Order Refunded' | 'Order Cancelled',
  detail: AdjustmentDetail,
  applied: readonly Adjustment[],
): Adjustment {
  const currency = detail.order.currency;
  if (detailType === 'Order Refunded') {
    const { refund } = detail as DetailOf<'Order Refunded'>;
    return {
      id: `refund:${refund.refundId}`,
      kind: 'refund',
      amount: moneySum(currency, [refund.amount, refund.shippingAmount]),
      commission: refund.commissionTotal,
    };
  }
  const { cancellation } = detail as DetailOf<'Order Cancelled'>;
  if (cancellation) {
    return {
      id: `cancel:${cancellation.cancellationId}`,
      kind: 'cancel',
      amount: moneySum(currency, [cancellation.amount, cancellation.shippingAmount]),
      commission: cancellation.commissionTotal,
    };
  }
  const totals = financeTotals(detail.order);
  return {
    id: WHOLE_ORDER_CANCEL,
    kind: 'cancel',
    amount: moneySum(currency, [totals.gross, ...applied.map((x) => -x.amount)]),
    commission: moneySum(currency, [totals.commissionTotal, ...applied.map((x) => -x.commission)]),
  };
}

/** Reads the adjustments attribute; anything unreadable counts as none (it is ours, written only by us). */
export function parseAdjustments(value: unknown): Adjustment[] {
  if (typeof value !== 'string' || value === '') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? (parsed as Adjustment[]).filter((a) => typeof a?.id === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The custom attributes after applying `adjustments` to the order as created: refunded and cancelled totals, and
 * net = gross − commission − money returned + commission given back.
 */
export function adjustedAttributes(
  order: Order,
  adjustments: readonly Adjustment[],
  attributes: SfccAttributes,
): Record<string, string | number> {
  const currency = order.currency;
  const totals = financeTotals(order);
  const sum = (kind: Adjustment['kind']) => moneySum(currency, adjustments.filter((x) => x.kind === kind).map((x) => x.amount));
  const returned = adjustments.map((x) => -x.amount);
  const commissionBack = adjustments.map((x) => x.commission);
  return {
    [attributes.refunded]: sum('refund'),
    [attributes.cancelled]: sum('cancel'),
    [attributes.net]: moneySum(currency, [totals.net, ...returned, ...commissionBack]),
    [attributes.adjustments]: JSON.stringify(adjustments),
  };
}

/** The SFCC order status after an adjustment: a whole-order cancellation cancels it; anything else leaves it. */
export function statusAfter(adjustment: Adjustment): 'cancelled' | undefined {
  return adjustment.id === WHOLE_ORDER_CANCEL ? 'cancelled' : undefined;
}

/** A readable external status for operations in Business Manager. */
export function externalStatusAfter(order: Order, adjustments: readonly Adjustment[]): string {
  const gross = financeTotals(order).gross;
  const returned = moneySum(order.currency, adjustments.map((x) => x.amount));
  const kinds = new Set(adjustments.map((x) => x.kind));
  const what = kinds.size === 2 ? 'refunded_and_cancelled' : kinds.has('refund') ? 'refunded' : 'cancelled';
  return returned >= gross ? `mirakl_${what}` : `mirakl_partially_${what}`;
}
