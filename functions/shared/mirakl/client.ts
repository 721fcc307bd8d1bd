/**
 * Mirakl seller (shop) API client. Every call goes through the shared HTTP layer (timeouts, 429 Retry-After,
 * jittered backoff) under its Mirakl operation code, so errors, logs and metrics say which operation failed.
 *
 * Call frequency is not enforced here: one poll is one OR11 "call" in Mirakl's contract even when it pages, so the
 * caller takes a slot from the call-frequency guard per run (see ./callFrequency).
 */
import {
  type AttemptEvent,
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
}

export interface MiraklClient {
  /** OR11, one page. */
  listOrders(query?: OrdersQuery): Promise<OrdersPage>;
  /** OR11 over offset pages of 100, in creation order, until a short page or total_count is reached. */
  pageOrders(query?: PagedOrdersQuery): AsyncGenerator<OrdersPage, void, undefined>;
  /** OR11 by `order_ids`, 100 ids per call; returns the raw orders found (unknown ids are simply absent). */
  ordersByIds(ids: readonly string[]): Promise<unknown[]>;
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
  throw new HttpError({
    operation: 'OR11',
    kind: 'invalid-response',
    status: response.status,
    retryable: false,
    attempts: response.attempts,
    detail: `expected {"orders":[…]}; ${detail}`,
  });
}

export function createMiraklClient(options: MiraklClientOptions): MiraklClient {
  if (!options.apiKey) throw new Error('Mirakl API key is empty');
  // A trailing slash keeps any path prefix of the base URL (e.g. a sandbox mounted under /mirakl/debenhams).
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  const http = createHttpClient({
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
    request: { query?: QueryParams; body?: unknown } = {},
  ): Promise<HttpResponse> {
    return http.request({
      operation,
      method,
      url: new URL(path.replace(/^\//, ''), base),
      query: { ...request.query, ...shopQuery },
      headers,
      json: request.body,
    });
  }

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

  return { listOrders, pageOrders, ordersByIds };
}
