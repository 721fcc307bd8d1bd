/**
 * The SFCC writes a business event causes, pure: createOrders for a confirmed order; for a refund or cancellation,
 * the finance attributes (updateOrder) and the statuses. The connector executes them; `plan` prints them as
 * requests (token masked), so what `plan` shows is what is sent.
 */
import { failureLine, type PlanLine, type PlannedRequest as SharedPlannedRequest, requestLine } from '../connector/plannedRequest';
import type { Config, SfccConfig } from '../config';
import type { BusinessEvent } from '../events';
import { sfccHosts } from './auth';
import {
  type Adjustment,
  adjustedAttributes,
  adjustmentOf,
  createOrderBody,
  externalStatusAfter,
  historyStatusesOf,
  offerSkusOf,
  orderNoFor,
  statusAfter,
} from './mapping';
import type { CreateOrderRequest } from './scapi';

export const SFCC = 'sfcc';

/** Offer SKU → SFCC product id lookups for one marketplace (the commerce SKU map, or a CSV in `plan`). */
export interface ProductLookup {
  productsFor(offerSkus: readonly string[]): Promise<Map<string, string>>;
}

export type SfccWrite =
  | { op: 'createOrders'; orderNo: string; body: CreateOrderRequest }
  | { op: 'updateOrder'; orderNo: string; body: Record<string, string | number> }
  | { op: 'updateOrderStatus'; orderNo: string; body: { status: 'cancelled' | 'completed' } }
  | { op: 'updateOrderExternalStatus'; orderNo: string; body: { status: string } }
  | { op: 'updateOrderExportStatus'; orderNo: string; body: { status: 'exported' } }
  | { op: 'updateOrderShippingStatus'; orderNo: string; body: { status: 'shipped' } };

export interface SfccWriteContext {
  /** Offer SKU → SFCC product id, for confirmed orders. */
  products?: ReadonlyMap<string, string>;
  /** Adjustments the SFCC order already carries, for refunds and cancellations. */
  applied?: readonly Adjustment[];
}

export function sfccSettings(config: Config): SfccConfig {
  if (!config.sfcc) throw new Error('the sfcc configuration block is missing');
  return config.sfcc;
}

/**
 * The writes for one event; an adjustment already applied yields only the (idempotent) status writes. An order from
 * a history load is created marked as such, then taken out of the export queue (see historyStatusesOf).
 */
export function sfccWritesFor(event: BusinessEvent, sfcc: SfccConfig, context: SfccWriteContext = {}): SfccWrite[] {
  const marketplace = event.detail.marketplace;
  switch (event.detailType) {
    case 'Order Confirmed': {
      const history = event.detail.backfill;
      const body = createOrderBody(marketplace, event.detail.order, context.products ?? new Map(), sfcc, history);
      const orderNo = body.orderNo as string;
      const writes: SfccWrite[] = [{ op: 'createOrders', orderNo, body }];
      if (!history) return writes;
      const statuses = historyStatusesOf(event.detail.order);
      writes.push({ op: 'updateOrderExportStatus', orderNo, body: { status: statuses.exportStatus } });
      if (statuses.shippingStatus) writes.push({ op: 'updateOrderShippingStatus', orderNo, body: { status: statuses.shippingStatus } });
      if (statuses.status) writes.push({ op: 'updateOrderStatus', orderNo, body: { status: statuses.status } });
      return writes;
    }
    case 'Order Refunded':
    case 'Order Cancelled': {
      const order = event.detail.order;
      const orderNo = orderNoFor(marketplace, order.orderId);
      const applied = context.applied ?? [];
      const adjustment = adjustmentOf(event.detailType, event.detail, applied);
      const known = applied.some((a) => a.id === adjustment.id);
      const after = known ? applied : [...applied, adjustment];
      const writes: SfccWrite[] = known
        ? []
        : [{ op: 'updateOrder', orderNo, body: adjustedAttributes(order, after, sfcc.attributes) }];
      writes.push({ op: 'updateOrderExternalStatus', orderNo, body: { status: externalStatusAfter(order, after) } });
      const status = statusAfter(adjustment);
      if (status) writes.push({ op: 'updateOrderStatus', orderNo, body: { status } });
      return writes;
    }
    default:
      return [];
  }
}

export type PlannedRequest = SharedPlannedRequest<typeof SFCC, 'POST' | 'PATCH' | 'PUT'>;

const MASKED_TOKEN = 'Bearer ***';

/** The SCAPI resource under an order that each status write PUTs. */
export const STATUS_RESOURCES = {
  updateOrderStatus: 'status',
  updateOrderExternalStatus: 'external-status',
  updateOrderExportStatus: 'export-status',
  updateOrderShippingStatus: 'shipping-status',
} as const satisfies Record<Exclude<SfccWrite['op'], 'createOrders' | 'updateOrder'>, string>;

/** The HTTP request of a write, as `plan` prints it. */
export function plannedRequest(write: SfccWrite, sfcc: SfccConfig): PlannedRequest {
  const base = sfccHosts(sfcc).orders;
  const site = `siteId=${encodeURIComponent(sfcc.siteId)}`;
  const order = `${base}/${encodeURIComponent(write.orderNo)}`;
  const [method, url] =
    write.op === 'createOrders'
      ? (['POST', `${base}?${site}`] as const)
      : write.op === 'updateOrder'
        ? (['PATCH', `${order}?${site}`] as const)
        : (['PUT', `${order}/${STATUS_RESOURCES[write.op]}?${site}`] as const);
  return {
    connector: SFCC,
    method,
    url,
    headers: { authorization: MASKED_TOKEN, 'content-type': 'application/json' },
    body: write.body,
  };
}

/**
 * The SFCC requests one business event causes, as `plan` prints them. Throws UnmappedSkuError (a PermanentError
 * of type `sku.unmapped`) when a confirmed order has lines `products` does not map. Refunds and cancellations are
 * planned as the first adjustment the SFCC order sees; the connector reads the order's adjustments first.
 */
export function sfccRequestsFor(
  event: BusinessEvent,
  config: Config,
  options: { products?: ReadonlyMap<string, string> } = {},
): PlannedRequest[] {
  if (!config.sfcc) return [];
  const sfcc = config.sfcc;
  return sfccWritesFor(event, sfcc, { products: options.products }).map((write) => plannedRequest(write, sfcc));
}

/**
 * What `plan` prints for one event on the SFCC side: the requests, or the exception the connector would record
 * (an order with unmapped SKUs). Nothing when the deployment has no `sfcc` block.
 */
export async function sfccPlanLines(
  event: BusinessEvent,
  config: Config,
  skuMap: (marketplace: string) => ProductLookup,
): Promise<PlanLine[]> {
  if (!config.sfcc) return [];
  const products =
    event.detailType === 'Order Confirmed'
      ? await skuMap(event.detail.marketplace).productsFor(offerSkusOf(event.detail.order))
      : undefined;
  try {
    return sfccRequestsFor(event, config, { products }).map((request) => requestLine(request));
  } catch (error) {
    return [failureLine(event, error)];
  }
}
