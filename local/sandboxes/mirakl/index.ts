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
import { BadRequest, listOrders, parseOr11Query } from './or11';
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
  /** Hours before an order left in WAITING_ACCEPTANCE is auto-refused. Default 72. */
  acceptanceWindowHours?: number;
}

export interface RecordedRequest {
  method: string;
  marketplace: string | null;
  operation: MiraklOperation | null;
  path: string;
  /** Query parameters; a repeated parameter's values are joined with commas. Never headers, so never the key. */
  query: Record<string, string>;
  /** 0 when the connection was reset by a fault. */
  status: number;
  at: string;
}

export interface MiraklSandbox {
  url: string;
  port: number;
  world: MiraklWorld;
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
  marketplace: string;
  params: URLSearchParams;
  /** Absolute URL of this request, for `Link` headers. */
  url: URL;
}

interface Route {
  operation: MiraklOperation;
  method: string;
  path: RegExp;
  handle(ctx: RouteContext): Reply;
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
  const isText = typeof reply.body === 'string';
  const payload = isText ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json;charset=UTF-8',
    ...reply.headers,
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
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
    acceptanceWindowHours: options.acceptanceWindowHours,
  });
  if (options.seed !== undefined) world.seedHistory();
  const faults = new MiraklFaults();
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
    const delayMs = faults.takeDelay(route.operation, offset);
    if (delayMs > 0) await sleep(delayMs);
    const failure = faults.takeFailure(route.operation, offset);
    if (failure?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure) return reply(faultReply(failure.status, failure.retryAfterSeconds));

    try {
      reply(route.handle({ world, marketplace: marketplaceId, params: url.searchParams, url }));
    } catch (caught) {
      if (caught instanceof BadRequest) return reply(error(400, caught.message));
      if (caught instanceof MiraklWorldError) {
        return reply(error(caught.code === 'ORDER_NOT_FOUND' ? 404 : 400, `${caught.code}: ${caught.message}`));
      }
      reply(error(500));
    }
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
    faults,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
