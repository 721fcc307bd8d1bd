/**
 * A local Mirakl seller API for `npm start` and the tests: one loopback HTTP server serving several marketplaces
 * by path prefix (`http://127.0.0.1:<port>/<marketplaceId>/api/...`, matching the configuration's base URLs).
 * Authentication, errors, paging and the OR11 update-date delta behave as Mirakl documents them. It never logs:
 * the orders it serves carry (invented) buyer data.
 *
 * Choices where Mirakl is silent: a `shop_id` other than the key's shop answers 403 (the General Notes' "access
 * denied for current user"); unknown query parameters are ignored; 502/503 come back as a proxy's HTML page,
 * 429/500 as Mirakl JSON `{status, message}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MiraklFaults, type FaultStatus, type MiraklOperation } from './faults';
import { OrderExports, type OrderExportsOptions } from './export';
import { BadRequest, listOrders, parseOr11Query } from './or11';
import { StockFileError, StockImports } from './stock';
import { MiraklWorld, MiraklWorldError, type MarketplaceInput } from './world';

export { MiraklFaults } from './faults';
export type { MiraklOperation, FaultStatus } from './faults';
export { MiraklWorld, MiraklWorldError } from './world';
export type {
  AcceptanceDecision,
  CreateOrderInput,
  MarketplaceInput,
  MiraklWorldErrorCode,
  MiraklWorldOptions,
  RefundInput,
  TrackingInput,
} from './world';
export type { MiraklOrder, MiraklOrderLine, MiraklRefund, MiraklCancelation, MiraklCarrier } from './types';
export { UPDATE_DATE_DELTA_MS } from './or11';
export { StockImports } from './stock';
export { OrderExports, type OrderExportsOptions } from './export';

export const DEFAULT_MIRAKL_SANDBOX_PORT = 4010;

export interface MiraklSandboxOptions {
  /** 0 picks a free port; default 4010 (the sandbox configuration's base URLs). */
  port?: number;
  marketplaces: MarketplaceInput[];
  /** When given, the world is seeded with a realistic order history. */
  seed?: number;
  clock?: () => Date;
  /** Accept waiting orders on tick; turn off when the acceptance connector runs. Default true. */
  autoAccept?: boolean;
  /** Ship orders in SHIPPING on tick; turn off when the tracking connector ships them. Default true. */
  autoShip?: boolean;
  /** Hours before an order left in WAITING_ACCEPTANCE is auto-refused. Default 72. */
  acceptanceWindowHours?: number;
  /** OR13–OR15 asynchronous export behaviour. */
  exports?: OrderExportsOptions;
}

export interface RecordedRequest {
  method: string;
  marketplace: string | null;
  operation: MiraklOperation | null;
  path: string;
  /** Query parameters; a repeated parameter's values are joined with commas. Never headers, so never the key. */
  query: Record<string, string>;
  /**
   * 0 when a fault reset the connection before the request was handled; a request applied before its answer was
   * lost or held (an `afterEffect` fault) keeps the status Mirakl answered, though the client never saw it.
   */
  status: number;
  at: string;
}

export interface MiraklSandbox {
  url: string;
  port: number;
  world: MiraklWorld;
  /** STO01–STO03 imports. */
  stock: StockImports;
  /** OR13–OR15 exports. */
  exports: OrderExports;
  faults: MiraklFaults;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface RouteContext {
  world: MiraklWorld;
  stock: StockImports;
  exports: OrderExports;
  marketplace: string;
  params: URLSearchParams;
  /** Absolute URL of this request, for `Link` headers. */
  url: URL;
  /** Path parameters: the route's capture groups. */
  ids: string[];
  /** The raw body (empty for GET) and its content type. */
  body: Buffer;
  contentType: string;
}

interface Route {
  operation: MiraklOperation;
  method: string;
  path: RegExp;
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

const NO_CONTENT: Reply = { status: 204, body: undefined };

/** A Mirakl error answer naming its documented error code (e.g. ORDER_LINE_DUPLICATE_ID). */
function coded(status: number, code: string, message: string): Reply {
  return error(status, `${code}: ${message}`);
}

function jsonBody(ctx: RouteContext): unknown {
  if (!/^application\/json\b/i.test(ctx.contentType)) throw new BadRequest('VALIDATION_ERROR: Content-Type must be application/json');
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw new BadRequest('VALIDATION_ERROR: the body is not valid JSON');
  }
}

const optionalText = (value: unknown, name: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`VALIDATION_ERROR: ${name} must be a string`);
  return value;
};

/** OR21: `{order_lines: [{id, accepted}]}`, every line of the order exactly once. */
function accept(ctx: RouteContext): Reply {
  const body = jsonBody(ctx) as { order_lines?: unknown };
  if (!Array.isArray(body?.order_lines)) throw new BadRequest('VALIDATION_ERROR: order_lines is required');
  const lines = body.order_lines as unknown[];
  if (lines.some((line) => line === null)) return coded(400, 'ORDER_LINE_NULL_ELEMENT', 'the order lines list contains a null element');
  const decisions = lines.map((line) => {
    const { id, accepted } = line as { id?: unknown; accepted?: unknown };
    if (typeof id !== 'string' || typeof accepted !== 'boolean') {
      throw new BadRequest('VALIDATION_ERROR: each order line needs a string id and a boolean accepted');
    }
    return { id, accepted };
  });
  if (new Set(decisions.map((d) => d.id)).size !== decisions.length) {
    return coded(400, 'ORDER_LINE_DUPLICATE_ID', 'the order lines list contains duplicate order line ids');
  }
  // An order past its deadline was refused by Mirakl already: accepting it now is an invalid state.
  ctx.world.expireAcceptances();
  ctx.world.accept(ctx.marketplace, ctx.ids[0] ?? '', decisions);
  return NO_CONTENT;
}

function trackingInput(value: Record<string, unknown>, urlField: 'carrier_url' | 'tracking_url') {
  const carrierCode = optionalText(value.carrier_code, 'carrier_code');
  const carrierName = optionalText(value.carrier_name, 'carrier_name');
  const trackingNumber = optionalText(value.tracking_number, 'tracking_number') ?? '';
  const trackingUrl = optionalText(value[urlField], urlField);
  if (!carrierCode && !carrierName) throw new BadRequest('VALIDATION_ERROR: carrier_code or carrier_name is required');
  return {
    ...(carrierCode ? { carrierCode } : {}),
    ...(carrierName ? { carrierName } : {}),
    trackingNumber,
    ...(trackingUrl ? { trackingUrl } : {}),
  };
}

/** OR23: a registered carrier by code (its URL computed), an unregistered one by name (URL optional). */
function tracking(ctx: RouteContext): Reply {
  const body = jsonBody(ctx);
  if (body === null || typeof body !== 'object') throw new BadRequest('VALIDATION_ERROR: a JSON object is required');
  ctx.world.setTracking(ctx.marketplace, ctx.ids[0] ?? '', trackingInput(body as Record<string, unknown>, 'carrier_url'));
  return NO_CONTENT;
}

/** ST01: each shipment succeeds or fails on its own; the answer is 201 with both lists. */
function shipments(ctx: RouteContext): Reply {
  const body = jsonBody(ctx) as { shipments?: unknown };
  const list = body?.shipments;
  if (!Array.isArray(list) || list.length === 0 || list.length > 1000) {
    throw new BadRequest('VALIDATION_ERROR: shipments must hold 1 to 1000 shipments');
  }
  const success: unknown[] = [];
  const errors: unknown[] = [];
  list.forEach((raw, i) => {
    const shipment = (raw ?? {}) as { order_id?: unknown; shipment_lines?: unknown; tracking?: unknown; shipped?: unknown };
    const orderId = typeof shipment.order_id === 'string' ? shipment.order_id : '';
    try {
      const lines = Array.isArray(shipment.shipment_lines) ? (shipment.shipment_lines as { order_line_id?: unknown; quantity?: unknown }[]) : [];
      if (!orderId || lines.length === 0) throw new BadRequest('order_id and at least one shipment line are required');
      const lineIds = lines.map((line) => {
        if (typeof line.order_line_id !== 'string' || !Number.isInteger(line.quantity) || (line.quantity as number) < 1) {
          throw new BadRequest('each shipment line needs order_line_id and a quantity ≥ 1');
        }
        return line.order_line_id;
      });
      const track = shipment.tracking && typeof shipment.tracking === 'object' ? trackingInput(shipment.tracking as Record<string, unknown>, 'tracking_url') : undefined;
      if (shipment.shipped === true) ctx.world.shipLines(ctx.marketplace, orderId, lineIds, track);
      else if (track) ctx.world.setTracking(ctx.marketplace, orderId, track);
      const now = ctx.world.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
      success.push({
        id: `${orderId}-S${i + 1}`,
        order_id: orderId,
        status: shipment.shipped === true ? 'SHIPPED' : 'SHIPPING',
        status_customer_debit: 'DEBITED',
        created_date: now,
        last_updated_date: now,
      });
    } catch (caught) {
      if (!(caught instanceof BadRequest || caught instanceof MiraklWorldError)) throw caught;
      errors.push({ order_id: orderId, message: shipmentError(ctx, orderId, caught) });
    }
  });
  return { status: 201, body: { shipment_success: success, shipment_errors: errors } };
}

/** ST01 names an order that left SHIPPING as its example does ("The order status must be 'SHIPPING' but it is …"). */
function shipmentError(ctx: RouteContext, orderId: string, caught: BadRequest | MiraklWorldError): string {
  if (!(caught instanceof MiraklWorldError)) return caught.message;
  const state = ctx.world.get(ctx.marketplace, orderId)?.order_state;
  if (caught.code === 'ORDER_INVALID_STATE' && state) return `The order status must be 'SHIPPING' but it is '${state}'.`;
  return `${caught.code}: ${caught.message}`;
}

/** STO01: multipart/form-data with the CSV in the part named `file`. */
async function importStock(ctx: RouteContext): Promise<Reply> {
  if (!/^multipart\/form-data\b/i.test(ctx.contentType)) throw new BadRequest('VALIDATION_ERROR: multipart/form-data is required');
  let form: FormData;
  try {
    form = await new Request('http://sandbox/', { method: 'POST', headers: { 'content-type': ctx.contentType }, body: new Uint8Array(ctx.body) }).formData();
  } catch {
    throw new BadRequest('VALIDATION_ERROR: the multipart body cannot be read');
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw new BadRequest('VALIDATION_ERROR: the part "file" is required');
  try {
    const id = ctx.stock.create(ctx.marketplace, await file.text());
    const location = new URL(`${ctx.url.pathname.replace(/\/$/, '')}/${id}/status`, ctx.url).toString();
    return { status: 201, body: { import_id: id }, headers: { Location: location } };
  } catch (caught) {
    if (caught instanceof StockFileError) throw new BadRequest(`VALIDATION_ERROR: ${caught.message}`);
    throw caught;
  }
}

/** OF21 offers: the fields the operation marks required, from the sandbox catalogue. */
function offers({ world, marketplace, params }: RouteContext): Reply {
  const max = Number(params.get('max') ?? 10);
  const offset = Number(params.get('offset') ?? 0);
  if (!Number.isInteger(max) || max < 1 || max > 100 || !Number.isInteger(offset) || offset < 0) {
    throw new BadRequest('max must be 1..100 and offset ≥ 0');
  }
  const profile = world.marketplace(marketplace);
  const all = world.offers(marketplace);
  const deadline = new Date(world.now().getTime() + 2 * 86_400_000).toISOString();
  const page = all.slice(offset, offset + max).map((offer) => ({
    active: offer.quantity > 0,
    all_prices: [{ price: offer.unitPrice, unit_origin_price: offer.unitPrice, volume_prices: [] }],
    category_code: offer.categoryCode,
    category_label: offer.categoryLabel,
    channels: [],
    currency_iso_code: profile.currency,
    description: offer.description,
    fulfillment: { center: { code: 'DEFAULT' } },
    leadtime_to_ship: 2,
    logistic_class: { code: 'STD', label: 'Standard' },
    max_order_quantity: 10,
    min_order_quantity: 1,
    min_quantity_alert: 2,
    min_shipping_price: 0,
    min_shipping_price_additional: 0,
    min_shipping_type: 'STD',
    min_shipping_zone: 'DOM',
    offer_id: offer.offerId,
    package_quantity: 1,
    product_references: [{ reference: offer.productSku, reference_type: 'SHOP_SKU' }],
    product_sku: offer.productSku,
    product_title: offer.title,
    quantity: offer.quantity,
    shipping_deadline: deadline,
    shop_sku: offer.sku,
    state_code: '11',
  }));
  return { status: 200, body: { offers: page, total_count: all.length } };
}

const ROUTES: Route[] = [
  {
    operation: 'V01',
    method: 'GET',
    path: /^\/api\/version$/,
    handle: () => ({ status: 200, body: { version: '3.230.0' } }),
  },
  {
    operation: 'OR11',
    method: 'GET',
    path: /^\/api\/orders$/,
    handle: ({ world, marketplace, params, url }) => {
      const query = parseOr11Query(params);
      // Mirakl refuses overdue orders on its own schedule; a read must already see that.
      world.expireAcceptances();
      const page = listOrders(world.view(marketplace), query);
      const link = pageLinks(url, query.offset, query.max, page.total_count);
      return { status: 200, body: page, ...(link ? { headers: { Link: link } } : {}) };
    },
  },
  {
    operation: 'OR13',
    method: 'POST',
    path: /^\/api\/orders\/async-export$/,
    handle: (ctx) => ({ status: 200, body: { tracking_id: ctx.exports.create(ctx.marketplace, jsonBody(ctx)) } }),
  },
  {
    operation: 'OR14',
    method: 'GET',
    path: /^\/api\/orders\/async-export\/status\/([^/]+)$/,
    handle: ({ exports, marketplace, url, ids: [id = ''] }) => {
      const fileUrl = (i: number) =>
        new URL(`/${marketplace}/api/orders/async-export/files/${encodeURIComponent(id)}/${i}`, url).toString();
      const status = exports.status(marketplace, id, fileUrl);
      return status ? { status: 200, body: status } : error(404, `Export ${id} not found`);
    },
  },
  {
    operation: 'OR15',
    method: 'GET',
    path: /^\/api\/orders\/async-export\/files\/([^/]+)\/(\d+)$/,
    handle: ({ exports, marketplace, url, ids: [id = '', index = ''] }) => {
      const file = exports.file(marketplace, id, Number(index), url.pathname);
      return file ? { status: 200, body: file } : error(404, 'Export file not found');
    },
  },
  { operation: 'OR21', method: 'PUT', path: /^\/api\/orders\/([^/]+)\/accept$/, handle: accept },
  { operation: 'OR23', method: 'PUT', path: /^\/api\/orders\/([^/]+)\/tracking$/, handle: tracking },
  {
    operation: 'OR24',
    method: 'PUT',
    path: /^\/api\/orders\/([^/]+)\/ship$/,
    handle: ({ world, marketplace, ids: [orderId = ''] }) => {
      world.ship(marketplace, orderId);
      return NO_CONTENT;
    },
  },
  { operation: 'ST01', method: 'POST', path: /^\/api\/shipments$/, handle: shipments },
  {
    operation: 'SH21',
    method: 'GET',
    path: /^\/api\/shipping\/carriers$/,
    // "Results are sorted alphabetically by carrier label".
    handle: ({ world, marketplace }) => ({
      status: 200,
      body: { carriers: world.carriers(marketplace).sort((a, b) => a.label.localeCompare(b.label)) },
    }),
  },
  { operation: 'STO01', method: 'POST', path: /^\/api\/offers\/stock\/imports$/, handle: importStock },
  {
    operation: 'STO02',
    method: 'GET',
    path: /^\/api\/offers\/stock\/imports\/([^/]+)\/status$/,
    handle: ({ stock, marketplace, ids: [id = ''] }) => {
      const status = stock.status(marketplace, id);
      return status ? { status: 200, body: status } : error(404, `Import ${id} not found`);
    },
  },
  {
    operation: 'STO03',
    method: 'GET',
    path: /^\/api\/offers\/stock\/imports\/([^/]+)\/error_report$/,
    handle: ({ stock, marketplace, ids: [id = ''] }) => {
      const report = stock.errorReport(marketplace, id);
      if (report === undefined) return error(404, `No error report for import ${id}`);
      return { status: 200, body: report, headers: { 'Content-Type': 'text/csv;charset=UTF-8' } };
    },
  },
  {
    operation: 'OF21',
    method: 'GET',
    path: /^\/api\/offers$/,
    handle: (ctx) => {
      ctx.stock.settle();
      return offers(ctx);
    },
  },
];

/** General Notes: "the URL of the previous and/or next page can be returned in the header's attribute Link". */
function pageLinks(url: URL, offset: number, max: number, total: number): string | undefined {
  const at = (value: number) => {
    const next = new URL(url);
    next.searchParams.set('offset', String(value));
    next.searchParams.set('max', String(max));
    return next.toString();
  };
  const links: string[] = [];
  if (offset > 0) links.push(`<${at(Math.max(0, offset - max))}>; rel="previous"`);
  if (offset + max < total) links.push(`<${at(offset + max)}>; rel="next"`);
  return links.length > 0 ? links.join(', ') : undefined;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too many requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function error(status: number, message = REASONS[status] ?? 'Error', headers?: Record<string, string>): Reply {
  return { status, body: { status, message }, headers };
}

function faultReply(status: FaultStatus, retryAfterSeconds: number | undefined): Reply {
  const headers: Record<string, string> = {};
  if (status === 429) headers['Retry-After'] = String(retryAfterSeconds ?? 1);
  else if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
  if (status === 502 || status === 503) {
    // What a load balancer in front of Mirakl answers: not JSON, clients must cope.
    const html = `<html><head><title>${status} ${REASONS[status]}</title></head><body><h1>${status} ${REASONS[status]}</h1></body></html>`;
    return { status, body: html, headers: { ...headers, 'Content-Type': 'text/html' } };
  }
  return error(status, undefined, headers);
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  const isText = typeof reply.body === 'string';
  const payload = isText ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json;charset=UTF-8',
    ...reply.headers,
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** Reads the body and runs the route; a refused request becomes Mirakl's error answer. */
async function handleRoute(route: Route, req: IncomingMessage, ctx: Omit<RouteContext, 'body'>): Promise<Reply> {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return await route.handle({ ...ctx, body: Buffer.concat(chunks) });
  } catch (caught) {
    if (caught instanceof BadRequest) return error(400, caught.message);
    if (caught instanceof MiraklWorldError) {
      return error(caught.code === 'ORDER_NOT_FOUND' ? 404 : 400, `${caught.code}: ${caught.message}`);
    }
    return error(500);
  }
}

function flattenQuery(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of new Set(params.keys())) out[key] = params.getAll(key).join(',');
  return out;
}

export async function startMiraklSandbox(options: MiraklSandboxOptions): Promise<MiraklSandbox> {
  const world = new MiraklWorld({
    marketplaces: options.marketplaces,
    seed: options.seed,
    clock: options.clock,
    autoAccept: options.autoAccept,
    autoShip: options.autoShip,
    acceptanceWindowHours: options.acceptanceWindowHours,
  });
  if (options.seed !== undefined) world.seedHistory();
  const faults = new MiraklFaults();
  const stock = new StockImports(world);
  const exports = new OrderExports(world, options.exports);
  const requests: RecordedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const [, marketplaceId = '', ...rest] = url.pathname.split('/');
    const apiPath = `/${rest.join('/')}`;
    const known = world.marketplaceIds().includes(marketplaceId);
    const sameShape = ROUTES.filter((r) => r.path.test(apiPath));
    const route = sameShape.find((r) => r.method === method);
    const record: RecordedRequest = {
      method,
      marketplace: known ? marketplaceId : null,
      operation: route?.operation ?? null,
      path: url.pathname,
      query: flattenQuery(url.searchParams),
      status: 0,
      at: world.now().toISOString(),
    };
    requests.push(record);
    const reply = (r: Reply) => {
      record.status = r.status;
      send(res, r);
    };

    if (!known) return reply(error(404));
    const profile = world.marketplace(marketplaceId);
    // Mirakl takes the bare key in Authorization; "Bearer <key>" is as wrong as no key.
    if (req.headers.authorization !== profile.apiKey) return reply(error(401));
    const shopId = url.searchParams.get('shop_id');
    if (shopId !== null && shopId !== String(profile.shopId)) {
      return reply(error(403, `Access denied for shop ${shopId}`));
    }
    if (!route) {
      if (sameShape.length > 0) return reply(error(405, undefined, { Allow: sameShape.map((r) => r.method).join(', ') }));
      return reply(error(404));
    }

    const rawOffset = url.searchParams.get('offset');
    const offset = rawOffset !== null && /^\d+$/.test(rawOffset) ? Number(rawOffset) : undefined;
    const delay = faults.takeDelay(route.operation, offset);
    if (delay && !delay.afterEffect) await sleep(delay.ms);
    const failure = faults.takeFailure(route.operation, offset);
    if (failure?.kind === 'reset' && !failure.afterEffect) {
      req.socket.destroy();
      return;
    }
    if (failure?.kind === 'status') return reply(faultReply(failure.status, failure.retryAfterSeconds));

    const answer = await handleRoute(route, req, {
      world,
      stock,
      exports,
      marketplace: marketplaceId,
      params: url.searchParams,
      url,
      ids: (route.path.exec(apiPath) ?? []).slice(1).map((id) => decodeURIComponent(id)),
      contentType: req.headers['content-type'] ?? '',
    });
    // Applied: what follows only loses or delays the answer.
    if (failure?.kind === 'reset') {
      record.status = answer.status;
      req.socket.destroy();
      return;
    }
    if (delay?.afterEffect) await sleep(delay.ms);
    reply(answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, error(500));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_MIRAKL_SANDBOX_PORT, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    world,
    stock,
    exports,
    faults,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
