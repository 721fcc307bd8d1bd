/**
 * Mirakl seller (shop) API client. Every call goes through the shared HTTP layer (timeouts, 429 Retry-After,
 * jittered backoff) under its Mirakl operation code, so errors, logs and metrics say which operation failed.
 *
 * Call frequency is not enforced here: one poll is one OR11 "call" in Mirakl's contract even when it pages, so the
 * caller takes a slot from the call-frequency guard per run (see ./callFrequency).
 */
import {
  type AttemptEvent,
  type HttpClient,
  type HttpResponse,
  HttpError,
  type QueryParams,
  type RetryPolicy,
  createHttpClient,
} from '../http';
import { type KNOWN_ORDER_STATES, type OrdersPage, OrdersPageSchema } from './orders';

/** OR11 page size: Mirakl's maximum for offset pagination (General Notes, "Pagination": max ≤ 100). */
export const OR11_PAGE_SIZE = 100;
/** Mirakl rejects id lists over 100 values (seen for commercial_ids; assumed for order_ids). */
export const OR11_MAX_ORDER_IDS = 100;

export type OrderStateCode = (typeof KNOWN_ORDER_STATES)[number];

export interface OrdersQuery {
  /** Last-update window; Mirakl itself subtracts a delta from the start, so pages overlap. */
  startUpdateDate?: Date;
  endUpdateDate?: Date;
  /** Creation window. */
  startDate?: Date;
  endDate?: Date;
  /** At most OR11_MAX_ORDER_IDS; an empty list is refused rather than silently meaning "every order". */
  orderIds?: readonly string[];
  orderStateCodes?: readonly OrderStateCode[];
  /** 1–100; defaults to Mirakl's own default (10) when omitted. */
  max?: number;
  offset?: number;
}

export type PagedOrdersQuery = Omit<OrdersQuery, 'max' | 'offset'>;

export interface MiraklClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Only needed when the key's user has access to several shops. */
  shopId?: number | string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  onAttempt?: (event: AttemptEvent) => void;
  /** An existing HTTP layer (e.g. a connector's, which counts 429s); the options above then do not apply. */
  http?: HttpClient;
}

/** OR21 decision for one line; Mirakl wants a decision for every line of the order. */
export interface LineDecision {
  id: string;
  accepted: boolean;
}

/** OR23 / ST01 tracking: `carrier_code` for a registered (SH21) carrier, `carrier_name` otherwise. */
export interface TrackingInfo {
  carrier_code?: string;
  carrier_name?: string;
  carrier_standard_code?: string;
  tracking_number?: string;
}

/** An SH21 carrier. */
export interface MiraklCarrier {
  code: string;
  label: string;
  standard_code?: string;
  tracking_url?: string;
}

export const STOCK_IMPORT_STATUSES = ['WAITING', 'RUNNING', 'COMPLETE', 'FAILED'] as const;

/** STO02; `status` stays a string because Mirakl adds enum values without notice. */
export interface StockImportStatus {
  import_id: string;
  status: string;
  has_error_report: boolean;
  lines_in_success?: number;
  lines_in_error?: number;
}

/** One ST01 shipment: lines of one order, shipped now or later, with its tracking. */
export interface ShipmentInput {
  order_id: string;
  shipment_lines: { order_line_id: string; quantity: number }[];
  tracking?: TrackingInfo & { tracking_url?: string };
  shipped?: boolean;
}

export interface ShipmentsResult {
  shipment_success: { id: string; order_id: string }[];
  shipment_errors: { order_id?: string; message?: string }[];
}

/** An OF21 offer, reduced to what the stock comparison needs. */
export interface OfferQuantity {
  shopSku: string;
  quantity: number;
}

/** OR13 filters: a creation window (`startDate`+`endDate`) or an update window; Mirakl requires at least one. */
export interface OrderExportQuery {
  startDate?: Date;
  endDate?: Date;
  startUpdateDate?: Date;
  endUpdateDate?: Date;
  /** Orders per file, 10,000–1,000,000 (Mirakl's bounds). */
  itemsPerChunk?: number;
}

/** OR14; `status` stays a string (PENDING, COMPLETED, FAILED, CANCELED today) because Mirakl adds values. */
export interface OrderExportStatus {
  status: string;
  urls: string[];
}

/** OR13 `items_per_chunk` bounds from the seller OpenAPI. */
export const OR13_ITEMS_PER_CHUNK = { min: 10_000, max: 1_000_000 } as const;

/** ST01 takes at most 1000 shipments per call. */
export const ST01_MAX_SHIPMENTS = 1000;
/** OF21 offset page size (General Notes, "Pagination": max ≤ 100). */
export const OF21_PAGE_SIZE = 100;

export interface MiraklClient {
  /** OR11, one page. */
  listOrders(query?: OrdersQuery): Promise<OrdersPage>;
  /** OR11 over offset pages of 100, in creation order, until a short page or total_count is reached. */
  pageOrders(query?: PagedOrdersQuery): AsyncGenerator<OrdersPage, void, undefined>;
  /** OR11 by `order_ids`, 100 ids per call; returns the raw orders found (unknown ids are simply absent). */
  ordersByIds(ids: readonly string[]): Promise<unknown[]>;
  /** OR21: accept or refuse every line of a WAITING_ACCEPTANCE order. */
  acceptOrder(orderId: string, lines: readonly LineDecision[]): Promise<void>;
  /** OR23: carrier and tracking number of an order. */
  updateTracking(orderId: string, tracking: TrackingInfo): Promise<void>;
  /** OR24: confirms the shipment of a SHIPPING order. */
  shipOrder(orderId: string): Promise<void>;
  /** ST01: multi-shipment (only on platforms that enable it), at most ST01_MAX_SHIPMENTS per call; never retried. */
  createShipments(shipments: readonly ShipmentInput[]): Promise<ShipmentsResult>;
  /** SH21: the carriers the operator registered. Sent once, never retried (once-per-day contract). */
  listCarriers(): Promise<MiraklCarrier[]>;
  /** STO01: one stock-only CSV import; returns the import id. Sent once, never retried (once-per-minute contract). */
  importStock(csv: string): Promise<string>;
  /** STO02. */
  stockImportStatus(importId: string): Promise<StockImportStatus>;
  /** STO03: the CSV error report of an import. */
  stockImportErrorReport(importId: string): Promise<string>;
  /** OF21 over offset pages: the quantity Mirakl holds per offer (for an operator's comparison, not for sync). */
  offerQuantities(): Promise<OfferQuantity[]>;
  /** OR13: starts the shop's one asynchronous order export; returns its tracking id. Sent once, never retried. */
  createOrderExport(query: OrderExportQuery): Promise<string>;
  /** OR14. */
  orderExportStatus(trackingId: string): Promise<OrderExportStatus>;
  /** OR15: one export file's raw orders (`{orders:[…]}`), from a URL OR14 returned. */
  orderExportFile(url: string): Promise<unknown[]>;
}

type Method = 'GET' | 'POST' | 'PUT';

function isoDate(name: string, value: Date | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Number.isNaN(value.getTime())) throw new RangeError(`${name} is not a valid date`);
  // Always UTC with Z: the spec's date-time format, URL-encoded by URLSearchParams (':' → %3A).
  return value.toISOString();
}

function commaList(name: string, values: readonly string[] | undefined, limit?: number): string | undefined {
  if (values === undefined) return undefined;
  if (values.length === 0) throw new RangeError(`${name} must not be empty (omit it to leave the filter off)`);
  if (limit !== undefined && values.length > limit) throw new RangeError(`${name} takes at most ${limit} values`);
  // Mirakl splits these lists on commas, so a value containing one would silently become two.
  if (values.some((v) => v.length === 0 || v.includes(','))) {
    throw new RangeError(`${name} values must be non-empty and contain no comma`);
  }
  return values.join(',');
}

function integerIn(name: string, value: number | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** OR11 query parameters, named as the seller OpenAPI declares them. */
export function or11Query(query: OrdersQuery): QueryParams {
  return {
    order_ids: commaList('orderIds', query.orderIds, OR11_MAX_ORDER_IDS),
    order_state_codes: commaList('orderStateCodes', query.orderStateCodes),
    start_date: isoDate('startDate', query.startDate),
    end_date: isoDate('endDate', query.endDate),
    start_update_date: isoDate('startUpdateDate', query.startUpdateDate),
    end_update_date: isoDate('endUpdateDate', query.endUpdateDate),
    // A stable order is what makes offset paging sound; dateCreated is OR11's only sort field.
    sort: 'dateCreated',
    order: 'asc',
    max: integerIn('max', query.max, 1, OR11_PAGE_SIZE),
    offset: integerIn('offset', query.offset, 0, Number.MAX_SAFE_INTEGER),
  };
}

function parseOrdersPage(response: HttpResponse): OrdersPage {
  const result = OrdersPageSchema.safeParse(response.json);
  if (result.success) return result.data;
  // Paths and zod's type messages only: the body itself may hold buyer data.
  const detail = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw invalid('OR11', response, `expected {"orders":[…]}; ${detail}`);
}

export function createMiraklClient(options: MiraklClientOptions): MiraklClient {
  if (!options.apiKey) throw new Error('Mirakl API key is empty');
  // A trailing slash keeps any path prefix of the base URL (e.g. a sandbox mounted under /mirakl/debenhams).
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const http =
    options.http ??
    createHttpClient({
    timeoutMs: options.timeoutMs,
    retry: options.retry,
    fetch: options.fetch,
    sleep: options.sleep,
    onAttempt: options.onAttempt,
  });
  // Bare key, no "Bearer" (Mirakl General Notes; the official SDK does the same).
  const headers = { authorization: options.apiKey, accept: 'application/json' };
  const shopQuery: QueryParams = options.shopId === undefined ? {} : { shop_id: String(options.shopId) };

  function call(
    operation: string,
    method: Method,
    path: string,
    request: { query?: QueryParams; body?: unknown; form?: FormData; retry?: Partial<RetryPolicy> } = {},
  ): Promise<HttpResponse> {
    return http.request({
      operation,
      method,
      url: new URL(path.replace(/^\//, ''), base),
      query: { ...request.query, ...shopQuery },
      headers,
      json: request.body,
      // fetch sets the multipart boundary itself when the body is FormData.
      body: request.form,
      retry: request.retry,
    });
  }

  const orderPath = (orderId: string, action: string) => `/api/orders/${encodeURIComponent(orderId)}/${action}`;
  const importPath = (importId: string, action: string) =>
    `/api/offers/stock/imports/${encodeURIComponent(importId)}/${action}`;

  async function listOrders(query: OrdersQuery = {}): Promise<OrdersPage> {
    return parseOrdersPage(await call('OR11', 'GET', '/api/orders', { query: or11Query(query) }));
  }

  async function* pageOrders(query: PagedOrdersQuery = {}): AsyncGenerator<OrdersPage, void, undefined> {
    for (let offset = 0; ; ) {
      const page = await listOrders({ ...query, max: OR11_PAGE_SIZE, offset });
      yield page;
      offset += page.orders.length;
      const total = page.total_count ?? undefined;
      if (page.orders.length < OR11_PAGE_SIZE || (total !== undefined && offset >= total)) return;
    }
  }

  async function ordersByIds(ids: readonly string[]): Promise<unknown[]> {
    const unique = [...new Set(ids)];
    const orders: unknown[] = [];
    for (let i = 0; i < unique.length; i += OR11_MAX_ORDER_IDS) {
      const chunk = unique.slice(i, i + OR11_MAX_ORDER_IDS);
      const page = await listOrders({ orderIds: chunk, max: OR11_PAGE_SIZE });
      orders.push(...page.orders);
    }
    return orders;
  }

  async function acceptOrder(orderId: string, lines: readonly LineDecision[]): Promise<void> {
    if (lines.length === 0) throw new RangeError('OR21 needs a decision for every line');
    await call('OR21', 'PUT', orderPath(orderId, 'accept'), { body: { order_lines: lines } });
  }

  async function updateTracking(orderId: string, tracking: TrackingInfo): Promise<void> {
    if (!tracking.carrier_code && !tracking.carrier_name) throw new RangeError('OR23 needs carrier_code or carrier_name');
    await call('OR23', 'PUT', orderPath(orderId, 'tracking'), { body: tracking });
  }

  async function shipOrder(orderId: string): Promise<void> {
    await call('OR24', 'PUT', orderPath(orderId, 'ship'));
  }

  async function createShipments(shipments: readonly ShipmentInput[]): Promise<ShipmentsResult> {
    if (shipments.length === 0 || shipments.length > ST01_MAX_SHIPMENTS) {
      throw new RangeError(`ST01 takes 1 to ${ST01_MAX_SHIPMENTS} shipments`);
    }
    // Sent once: a retry after an answer lost in transit would create a second shipment of the same units.
    const response = await call('ST01', 'POST', '/api/shipments', { body: { shipments }, retry: { maxAttempts: 1 } });
    const body = response.json as Partial<ShipmentsResult> | undefined;
    return { shipment_success: body?.shipment_success ?? [], shipment_errors: body?.shipment_errors ?? [] };
  }

  async function listCarriers(): Promise<MiraklCarrier[]> {
    // Sent once: SH21 is once a day and every answer counts, so a retry is the call-frequency guard's decision
    // (CallOutcome), not the HTTP layer's.
    const response = await call('SH21', 'GET', '/api/shipping/carriers', { retry: { maxAttempts: 1 } });
    const carriers = (response.json as { carriers?: unknown } | undefined)?.carriers;
    if (!Array.isArray(carriers)) throw invalid('SH21', response, 'expected {"carriers":[…]}');
    return carriers.filter(
      (c): c is MiraklCarrier => typeof c?.code === 'string' && c.code !== '' && typeof c.label === 'string',
    );
  }

  async function importStock(csv: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'stock.csv');
    const response = await call('STO01', 'POST', '/api/offers/stock/imports', { form, retry: { maxAttempts: 1 } });
    const importId = (response.json as { import_id?: unknown } | undefined)?.import_id;
    // Some instances serialise the id as a number; it is an identifier either way.
    if (typeof importId !== 'string' && typeof importId !== 'number') {
      throw invalid('STO01', response, 'expected {"import_id":…}');
    }
    return String(importId);
  }

  async function stockImportStatus(importId: string): Promise<StockImportStatus> {
    const response = await call('STO02', 'GET', importPath(importId, 'status'));
    const body = response.json as Partial<StockImportStatus> | undefined;
    if (typeof body?.status !== 'string') throw invalid('STO02', response, 'expected {"status":…}');
    return { ...body, import_id: String(body.import_id ?? importId), status: body.status, has_error_report: body.has_error_report === true };
  }

  async function stockImportErrorReport(importId: string): Promise<string> {
    return (await call('STO03', 'GET', importPath(importId, 'error_report'))).text;
  }

  async function offerQuantities(): Promise<OfferQuantity[]> {
    const offers: OfferQuantity[] = [];
    for (let offset = 0; ; ) {
      const response = await call('OF21', 'GET', '/api/offers', { query: { max: OF21_PAGE_SIZE, offset } });
      const body = response.json as { offers?: { shop_sku?: unknown; quantity?: unknown }[]; total_count?: number } | undefined;
      if (!Array.isArray(body?.offers)) throw invalid('OF21', response, 'expected {"offers":[…]}');
      for (const offer of body.offers) {
        if (typeof offer.shop_sku === 'string') offers.push({ shopSku: offer.shop_sku, quantity: Number(offer.quantity ?? 0) });
      }
      offset += body.offers.length;
      if (body.offers.length < OF21_PAGE_SIZE || (body.total_count !== undefined && offset >= body.total_count)) return offers;
    }
  }

  async function createOrderExport(query: OrderExportQuery): Promise<string> {
    const creation = query.startDate !== undefined && query.endDate !== undefined;
    const update = query.startUpdateDate !== undefined && query.endUpdateDate !== undefined;
    if (!creation && !update) throw new RangeError('OR13 needs startDate+endDate or startUpdateDate+endUpdateDate');
    const body = {
      start_date: isoDate('startDate', query.startDate),
      end_date: isoDate('endDate', query.endDate),
      start_update_date: isoDate('startUpdateDate', query.startUpdateDate),
      end_update_date: isoDate('endUpdateDate', query.endUpdateDate),
      items_per_chunk: integerIn('itemsPerChunk', query.itemsPerChunk, OR13_ITEMS_PER_CHUNK.min, OR13_ITEMS_PER_CHUNK.max),
    };
    // A retried POST could start a second export, which Mirakl refuses while the first runs and counts either way.
    const response = await call('OR13', 'POST', '/api/orders/async-export', { body, retry: { maxAttempts: 1 } });
    const trackingId = (response.json as { tracking_id?: unknown } | undefined)?.tracking_id;
    if (typeof trackingId !== 'string' || trackingId === '') throw invalid('OR13', response, 'expected {"tracking_id":…}');
    return trackingId;
  }

  async function orderExportStatus(trackingId: string): Promise<OrderExportStatus> {
    const response = await call('OR14', 'GET', `/api/orders/async-export/status/${encodeURIComponent(trackingId)}`);
    const body = response.json as { status?: unknown; urls?: unknown } | undefined;
    if (typeof body?.status !== 'string') throw invalid('OR14', response, 'expected {"status":…}');
    const urls = Array.isArray(body.urls) ? body.urls.filter((u): u is string => typeof u === 'string') : [];
    return { status: body.status, urls };
  }

  async function orderExportFile(url: string): Promise<unknown[]> {
    const target = new URL(url);
    // The shop key goes only to the Mirakl instance itself; a file on another host is fetched as the URL stands.
    const own = target.origin === base.origin;
    const response = await http.request({
      operation: 'OR15',
      method: 'GET',
      url: target,
      ...(own ? { query: shopQuery, headers } : { headers: { accept: 'application/json' } }),
    });
    const orders = (response.json as { orders?: unknown } | undefined)?.orders;
    if (!Array.isArray(orders)) throw invalid('OR15', response, 'expected {"orders":[…]}');
    return orders;
  }

  return {
    createOrderExport,
    orderExportStatus,
    orderExportFile,
    listOrders,
    pageOrders,
    ordersByIds,
    acceptOrder,
    updateTracking,
    shipOrder,
    createShipments,
    listCarriers,
    importStock,
    stockImportStatus,
    stockImportErrorReport,
    offerQuantities,
  };
}

function invalid(operation: string, response: HttpResponse, detail: string): HttpError {
  return new HttpError({
    operation,
    kind: 'invalid-response',
    status: response.status,
    retryable: false,
    attempts: response.attempts,
    detail,
  });
}
