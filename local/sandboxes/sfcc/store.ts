/**
 * What the SFCC sandbox holds: orders per site (as createOrders stored them, with the statuses and custom attributes
 * later calls set) and inventory records per list. The rules SCAPI applies live here, so they can be tested without
 * HTTP: order and tax totals summed as the platform sums them, unique order numbers per site, shipment references,
 * status transitions.
 */
import type { CreateOrderRequest } from '../../../functions/shared/sfcc/scapi';

const ERRORS = 'https://api.commercecloud.salesforce.com/documentation/error/v1/errors';

/** A SCAPI error: RFC 7807 problem details with the status to answer. */
export class ScapiProblem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
  }

  body() {
    return { type: `${ERRORS}/${this.type}`, title: this.title, detail: this.detail };
  }
}

export type StoredStatus = 'created' | 'new' | 'completed' | 'cancelled' | 'failed';

export interface StoredOrder {
  siteId: string;
  request: CreateOrderRequest;
  status: StoredStatus;
  externalStatus?: string;
  /** `not_exported` at creation (SCAPI's default); the brand's export job sets `exported` once it sent the order. */
  exportStatus: 'exported' | 'not_exported' | 'ready' | 'failed';
  /** Set by a shipping-status PUT; otherwise the order's shipping status follows its shipments. */
  shippingStatus?: 'shipped' | 'part_shipped' | 'not_shipped';
  custom: Record<string, unknown>;
  creationDate: string;
  lastModified: string;
  /** How many updates (PATCH/PUT) it received. */
  updates: number;
  /** Shipments the warehouse marked shipped, by shipment id: tracking number and shipment custom attributes. */
  shipped: Map<string, { trackingNumber: string; custom: Record<string, unknown> }>;
}

export interface InventoryRecord {
  productId: string;
  allocation: number;
  turnover: number;
  perpetual: boolean;
}

/** Amounts compared as the platform does: at two decimals (SCAPI prints totals with two). */
const cents = (amount: number) => Math.round(amount * 100);
const format = (minor: number) => (minor / 100).toFixed(2);

function customOf(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key.startsWith('c_')));
}

/**
 * The platform's sums: orderTotal = Σ items' grossPrice + Σ shipments' total + Σ adjustments' grossPrice (item,
 * option and order level; adjustments are negative), taxTotal likewise with tax. The vendor's full example
 * (113.24 = 103.95 + 21.29 − 6 − 6) shows adjustments are added as signed amounts.
 */
export function checkTotals(request: CreateOrderRequest): void {
  const adjustments = [
    ...(request.orderPriceAdjustments ?? []),
    ...request.productItems.flatMap((item) => [
      ...(item.priceAdjustments ?? []),
      ...(item.optionItems ?? []).flatMap((option) => option.priceAdjustments ?? []),
    ]),
  ];
  const options = request.productItems.flatMap((item) => item.optionItems ?? []);
  const sum = (values: number[]) => values.reduce((n, v) => n + cents(v), 0);
  const orderTotal = sum([
    ...request.productItems.map((i) => i.grossPrice),
    ...options.map((o) => o.grossPrice),
    ...request.shipments.map((s) => s.shippingTotal),
    ...adjustments.map((a) => a.grossPrice),
  ]);
  const taxTotal = sum([
    ...request.productItems.map((i) => i.tax),
    ...options.map((o) => o.tax),
    ...request.shipments.map((s) => s.taxTotal),
    ...adjustments.map((a) => a.tax),
  ]);
  for (const [name, passed, calculated] of [
    ['order', request.orderTotal, orderTotal],
    ['tax', request.taxTotal, taxTotal],
  ] as const) {
    if (cents(passed) === calculated) continue;
    const title = `Invalid ${name === 'order' ? 'Order' : 'Tax'} Total`;
    const detail = `The passed ${name} total '${format(cents(passed))}' does not match the calculated ${name} total '${format(calculated)}'.`;
    throw new ScapiProblem(400, `invalid-${name}-total`, title, detail);
  }
}

export function shippingStatusOf(order: StoredOrder): 'shipped' | 'part_shipped' | 'not_shipped' {
  if (order.shippingStatus) return order.shippingStatus;
  if (order.shipped.size === 0) return 'not_shipped';
  return order.shipped.size === order.request.shipments.length ? 'shipped' : 'part_shipped';
}

export class SfccStore {
  readonly orders = new Map<string, StoredOrder>();
  readonly inventory = new Map<string, Map<string, InventoryRecord>>();
  /** createOrders calls refused because the order number was taken. */
  duplicatesRejected = 0;
  private generated = 0;

  constructor(private readonly now: () => Date) {}

  private key = (siteId: string, orderNo: string) => `${siteId}\u0000${orderNo}`;

  createOrder(siteId: string, request: CreateOrderRequest): StoredOrder {
    const shipmentIds = new Set(request.shipments.map((s) => s.shipmentId));
    const stray = request.productItems.find((item) => !shipmentIds.has(item.shipmentId));
    if (stray) {
      throw new ScapiProblem(404, 'not-found', 'Shipment Not Found', `No shipment with ID '${stray.shipmentId}' could be found.`);
    }
    checkTotals(request);
    this.generated += 1;
    const orderNo = request.orderNo ?? String(this.generated).padStart(8, '0');
    const key = this.key(siteId, orderNo);
    if (this.orders.has(key)) {
      this.duplicatesRejected += 1;
      // The exact code SFCC uses for a taken order number is not documented; the status (400) is.
      throw new ScapiProblem(400, 'bad-request', 'Bad Request', `An order with number '${orderNo}' already exists in site '${siteId}'.`);
    }
    const at = this.now().toISOString();
    const order: StoredOrder = {
      siteId,
      request: { ...request, orderNo },
      // "The order is automatically placed after creation."
      status: 'new',
      exportStatus: 'not_exported',
      custom: customOf(request),
      creationDate: at,
      lastModified: at,
      updates: 0,
      shipped: new Map(),
    };
    this.orders.set(key, order);
    return order;
  }

  find(siteId: string, orderNo: string): StoredOrder {
    const order = this.orders.get(this.key(siteId, orderNo));
    if (!order) throw new ScapiProblem(404, 'order-not-found', 'Order Not Found', `No order with number '${orderNo}' was found.`);
    return order;
  }

  private touch(order: StoredOrder): void {
    order.updates += 1;
    order.lastModified = this.now().toISOString();
  }

  updateCustom(siteId: string, orderNo: string, attributes: Record<string, unknown>): void {
    const order = this.find(siteId, orderNo);
    Object.assign(order.custom, attributes);
    this.touch(order);
  }

  /** Placed orders cannot go back to created or failed; a cancelled order cannot be cancelled again. */
  setStatus(siteId: string, orderNo: string, status: StoredStatus | 'failed_with_reopen'): void {
    const order = this.find(siteId, orderNo);
    const placed = order.status !== 'created' && order.status !== 'failed';
    if ((status === 'created' || status === 'failed' || status === 'failed_with_reopen') && placed) {
      throw new ScapiProblem(400, 'bad-request', 'Bad Request', `Order '${orderNo}' is placed and cannot be set to '${status}'.`);
    }
    if (status === 'cancelled' && order.status === 'cancelled') {
      throw new ScapiProblem(400, 'bad-request', 'Bad Request', `Order '${orderNo}' is already cancelled.`);
    }
    order.status = status === 'failed_with_reopen' ? 'failed' : status;
    this.touch(order);
  }

  setExternalStatus(siteId: string, orderNo: string, status: string): void {
    const order = this.find(siteId, orderNo);
    order.externalStatus = status;
    this.touch(order);
  }

  setExportStatus(siteId: string, orderNo: string, status: StoredOrder['exportStatus']): void {
    const order = this.find(siteId, orderNo);
    order.exportStatus = status;
    this.touch(order);
  }

  setShippingStatus(siteId: string, orderNo: string, status: NonNullable<StoredOrder['shippingStatus']>): void {
    const order = this.find(siteId, orderNo);
    order.shippingStatus = status;
    this.touch(order);
  }

  /** What a warehouse integration does when a parcel leaves: the shipment is shipped, with tracking and carrier. */
  ship(siteId: string, orderNo: string, shipmentId: string, trackingNumber: string, custom: Record<string, unknown> = {}): void {
    const order = this.find(siteId, orderNo);
    if (!order.request.shipments.some((s) => s.shipmentId === shipmentId)) {
      throw new ScapiProblem(404, 'not-found', 'Shipment Not Found', `No shipment with ID '${shipmentId}' could be found.`);
    }
    order.shipped.set(shipmentId, { trackingNumber, custom: customOf(custom) });
    this.touch(order);
  }

  /** getOrders: orders of a site modified since `from`, sorted by creation or modification time. */
  list(
    siteId: string,
    filter: { from?: string; shippingStatus?: readonly string[]; by: 'creationDate' | 'lastModified'; descending: boolean },
  ): StoredOrder[] {
    const from = filter.from ? Date.parse(filter.from) : Number.NEGATIVE_INFINITY;
    const orders = [...this.orders.values()].filter(
      (o) =>
        o.siteId === siteId &&
        Date.parse(o.lastModified) >= from &&
        (!filter.shippingStatus?.length || filter.shippingStatus.includes(shippingStatusOf(o))),
    );
    orders.sort((a, b) => a[filter.by].localeCompare(b[filter.by]) || (a.request.orderNo as string).localeCompare(b.request.orderNo as string));
    return filter.descending ? orders.reverse() : orders;
  }

  setInventory(listId: string, productId: string, allocation: number, options: { turnover?: number; perpetual?: boolean } = {}): void {
    const list = this.inventory.get(listId) ?? new Map<string, InventoryRecord>();
    this.inventory.set(listId, list);
    list.set(productId, { productId, allocation, turnover: options.turnover ?? 0, perpetual: options.perpetual ?? false });
  }

  clear(): void {
    this.orders.clear();
    this.inventory.clear();
    this.duplicatesRejected = 0;
    this.generated = 0;
  }
}
