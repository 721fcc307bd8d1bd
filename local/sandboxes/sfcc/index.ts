/**
 * A local Salesforce B2C Commerce for `npm start`, the tests and the benchmark: one loopback origin serving
 * - Account Manager client credentials (`/dwsso/oauth2/access_token`) and the SLAS trusted-system token, both
 *   checking the client's Basic credentials and issuing tokens that expire;
 * - SCAPI Orders: createOrders (TSOB token only; body validated, totals summed as the platform sums them, a taken
 *   order number refused), getOrder, updateOrder (custom attributes), status, external, export and shipping status
 *   (AM token);
 * - OCAPI Data API inventory records (one, or a list page of at most 200).
 * Request bodies are validated with MarketBridge's own schemas of the vendor documents (functions/shared/sfcc/scapi),
 * so the sandbox works on a clone without the vendor files; contract tests check schemas and responses against them.
 * SCAPI's published per-client limits of those Orders endpoints (60-second windows) are enforced as fixed windows:
 * a request over one is 429 with `Retry-After`. Faults (429, 5xx, timeouts, lost acknowledgements) are injected per
 * route through the shared sandbox scaffolding. It never logs.
 *
 * Inspection over HTTP: `GET /__sandbox/state`; faults: `POST /__sandbox/faults` with a `SandboxFault`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ZodType } from 'zod';
import type { RateLimit } from '../../../functions/shared/connector/pacer';
import { OCAPI_VERSION } from '../../../functions/shared/sfcc/auth';
import { SCAPI_ORDERS_LIMITS } from '../../../functions/shared/sfcc/client';
import {
  CreateOrderRequestSchema,
  OrderExportStatusUpdateSchema,
  OrderExternalStatusUpdateSchema,
  OrderShippingStatusUpdateSchema,
  OrderStatusUpdateSchema,
  OrderUpdateSchema,
} from '../../../functions/shared/sfcc/scapi';
import { type ReceivedRequest, type Reply, type SandboxFault, type VendorRequest, startVendorServer } from '../vendorServer';
import { FixedWindowLimiter } from '../klaviyo/limits';
import { ScapiProblem, SfccStore, type StoredOrder, shippingStatusOf } from './store';

export { SfccStore, type StoredOrder } from './store';

export const DEFAULT_SFCC_SANDBOX_PORT = 4050;
export const SFCC_SANDBOX_ORGANIZATION = 'f_ecom_mkbr_s01';
export const SFCC_SANDBOX_SITE = 'RefArch';
export const SFCC_SANDBOX_CREDENTIALS = {
  amClientId: 'sandbox-am-client',
  amClientSecret: 'sandboxAmSecret0123456789',
  slasClientId: 'sandbox-slas-client',
  slasClientSecret: 'sandboxSlasSecret0123456789',
} as const;
export type SfccCredentials = { -readonly [K in keyof typeof SFCC_SANDBOX_CREDENTIALS]: string };

/** Admin API payload ceiling (5 MB → 413). */
const MAX_BODY_BYTES = 5 * 1024 * 1024;
/** OCAPI list resources page at most 200 records. */
const MAX_PAGE = 200;

export type SfccRoute =
  | 'amToken'
  | 'slasToken'
  | 'createOrders'
  | 'getOrders'
  | 'getOrder'
  | 'updateOrder'
  | 'updateOrderStatus'
  | 'updateOrderExternalStatus'
  | 'updateOrderExportStatus'
  | 'updateOrderShippingStatus'
  | 'getInventoryRecord'
  | 'listInventoryRecords';

export interface SfccSandboxOptions {
  /** 0 picks a free port (the default); `npm start` uses DEFAULT_SFCC_SANDBOX_PORT. */
  port?: number;
  organizationId?: string;
  siteIds?: string[];
  credentials?: SfccCredentials;
  /** Lifetime of issued tokens; Account Manager says 1799 s, SLAS 1800 s. */
  tokenLifetimeSeconds?: { am?: number; slas?: number };
  /** Per-route limits; by default SCAPI's published ones for the Orders endpoints. */
  rateLimits?: Partial<Record<SfccRoute, RateLimit>>;
  now?: () => number;
}

export interface SfccSandbox {
  url: string;
  store: SfccStore;
  requests: ReceivedRequest[];
  inject(fault: SandboxFault & { route?: SfccRoute }): void;
  /** The limit the sandbox enforces on a route, if any. */
  limitOf(route: SfccRoute): RateLimit | undefined;
  /** Forgets orders, inventory, tokens, requests, faults and rate-limit windows. */
  reset(): void;
  close(): Promise<void>;
}

type TokenKind = 'am' | 'slas';
type Auth = { kind: 'scapi'; accepts: readonly TokenKind[] } | { kind: 'ocapi' } | { kind: 'token'; token: TokenKind };
interface Route {
  name: SfccRoute;
  method: string;
  path: RegExp;
  auth: Auth;
}

const ORG = '([^/]+)';
const ROUTES: Route[] = [
  { name: 'amToken', method: 'POST', path: /^\/dwsso\/oauth2\/access_token$/, auth: { kind: 'token', token: 'am' } },
  {
    name: 'slasToken',
    method: 'POST',
    path: new RegExp(`^/shopper/auth/v1/organizations/${ORG}/oauth2/trusted-system/token$`),
    auth: { kind: 'token', token: 'slas' },
  },
  { name: 'createOrders', method: 'POST', path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders$`), auth: { kind: 'scapi', accepts: ['slas'] } },
  { name: 'getOrders', method: 'GET', path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders$`), auth: { kind: 'scapi', accepts: ['am'] } },
  { name: 'getOrder', method: 'GET', path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)$`), auth: { kind: 'scapi', accepts: ['am'] } },
  {
    name: 'updateOrder',
    method: 'PATCH',
    path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)$`),
    auth: { kind: 'scapi', accepts: ['am', 'slas'] },
  },
  {
    name: 'updateOrderStatus',
    method: 'PUT',
    path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)/status$`),
    auth: { kind: 'scapi', accepts: ['am'] },
  },
  {
    name: 'updateOrderExternalStatus',
    method: 'PUT',
    path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)/external-status$`),
    auth: { kind: 'scapi', accepts: ['am'] },
  },
  {
    name: 'updateOrderExportStatus',
    method: 'PUT',
    path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)/export-status$`),
    auth: { kind: 'scapi', accepts: ['am'] },
  },
  {
    name: 'updateOrderShippingStatus',
    method: 'PUT',
    path: new RegExp(`^/checkout/orders/v1/organizations/${ORG}/orders/([^/]+)/shipping-status$`),
    auth: { kind: 'scapi', accepts: ['am'] },
  },
  {
    name: 'getInventoryRecord',
    method: 'GET',
    path: new RegExp(`^/s/-/dw/data/${OCAPI_VERSION}/inventory_lists/([^/]+)/product_inventory_records/([^/]+)$`),
    auth: { kind: 'ocapi' },
  },
  {
    name: 'listInventoryRecords',
    method: 'GET',
    path: new RegExp(`^/s/-/dw/data/${OCAPI_VERSION}/inventory_lists/([^/]+)/product_inventory_records$`),
    auth: { kind: 'ocapi' },
  },
];

/** An OAuth error of the token endpoints (`{ error, error_description }`). */
class OAuthProblem extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
  ) {
    super(error);
  }
}

/** An OCAPI fault document. */
class OcapiFault extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const problem = (status: number, type: string, title: string, detail: string) => new ScapiProblem(status, type, title, detail);

const tooManyRequests = (retryAfterSeconds: number): Reply => ({
  status: 429,
  headers: { 'retry-after': String(retryAfterSeconds) },
  body: problem(429, 'too-many-requests', 'Too Many Requests', 'The rate limit of this endpoint is exceeded.').body(),
});

/** Zod issues as a detail naming fields only (bodies hold buyer data). */
function validated<T>(schema: ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const where = result.error.issues.slice(0, 5).map((i) => `'$.${i.path.join('.')}': ${i.message}`);
  throw problem(400, 'bad-request', 'Bad Request', `Request body is invalid: ${where.join('; ')}`);
}

export async function startSfccSandbox(options: SfccSandboxOptions = {}): Promise<SfccSandbox> {
  const now = options.now ?? Date.now;
  const organizationId = options.organizationId ?? SFCC_SANDBOX_ORGANIZATION;
  const siteIds = new Set(options.siteIds ?? [SFCC_SANDBOX_SITE]);
  const credentials = options.credentials ?? { ...SFCC_SANDBOX_CREDENTIALS };
  const lifetimes = { am: options.tokenLifetimeSeconds?.am ?? 1799, slas: options.tokenLifetimeSeconds?.slas ?? 1800 };
  const store = new SfccStore(() => new Date(now()));
  const tokens = new Map<string, { kind: TokenKind; expiresAt: number }>();
  const limiter = new FixedWindowLimiter(options.rateLimits ?? SCAPI_ORDERS_LIMITS, now);

  function issue(kind: TokenKind): { token: string; expiresIn: number } {
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { kind, expiresAt: now() + lifetimes[kind] * 1000 });
    return { token, expiresIn: lifetimes[kind] };
  }

  function basicCredentials(headers: IncomingHttpHeaders): [string, string] {
    const match = /^Basic (\S+)$/.exec(headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthProblem(401, 'invalid_client');
    return [decoded.slice(0, colon), decoded.slice(colon + 1)];
  }

  function form(request: VendorRequest): URLSearchParams {
    if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) {
      throw new OAuthProblem(400, 'invalid_request');
    }
    return new URLSearchParams(request.raw.toString('utf8'));
  }

  function tokenReply(kind: TokenKind, request: VendorRequest, org: string | undefined): Reply {
    const params = form(request);
    const [id, secret] = basicCredentials(request.headers);
    if (kind === 'am') {
      if (id !== credentials.amClientId || secret !== credentials.amClientSecret) throw new OAuthProblem(401, 'invalid_client');
      if (params.get('grant_type') !== 'client_credentials') throw new OAuthProblem(400, 'unsupported_grant_type');
      const scope = params.get('scope') ?? '';
      // SCAPI admin tokens need the tenant scope besides the API family's.
      if (!scope.split(' ').includes(`SALESFORCE_COMMERCE_API:${organizationId.replace(/^f_ecom_/, '')}`)) {
        throw new OAuthProblem(400, 'invalid_scope');
      }
      const { token, expiresIn } = issue('am');
      return { status: 200, body: { access_token: token, scope, token_type: 'Bearer', expires_in: expiresIn } };
    }
    if (org !== organizationId) throw new OAuthProblem(400, 'invalid_request');
    if (id !== credentials.slasClientId || secret !== credentials.slasClientSecret) throw new OAuthProblem(401, 'invalid_client');
    // TrustedSystemTokenRequest: required fields and their enums.
    const required = ['channel_id', 'client_id', 'grant_type', 'hint', 'idp_origin', 'login_id'];
    if (required.some((field) => !params.get(field))) throw new OAuthProblem(400, 'invalid_request');
    if (params.get('grant_type') !== 'client_credentials' || params.get('hint') !== 'ts_ext_on_behalf_of') {
      throw new OAuthProblem(400, 'invalid_grant');
    }
    if (params.get('client_id') !== id || !siteIds.has(params.get('channel_id') as string)) {
      throw new OAuthProblem(400, 'invalid_request');
    }
    if ((params.get('login_id') as string).length > 128) throw new OAuthProblem(400, 'invalid_request');
    const { token, expiresIn } = issue('slas');
    return {
      status: 200,
      body: {
        access_token: token,
        id_token: '',
        refresh_token: randomBytes(16).toString('base64url'),
        expires_in: expiresIn,
        refresh_token_expires_in: 7_776_000,
        token_type: 'Bearer',
        usid: randomBytes(16).toString('hex'),
        customer_id: 'guest',
        enc_user_id: randomBytes(16).toString('hex'),
        idp_access_token: '',
      },
    };
  }

  function bearer(headers: IncomingHttpHeaders): TokenKind | undefined {
    const match = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
    const token = match ? tokens.get(match[1] as string) : undefined;
    if (!token || token.expiresAt <= now()) return undefined;
    return token.kind;
  }

  function orderResponse(order: StoredOrder) {
    const r = order.request;
    const shipmentNo = (i: number) => `${r.orderNo}-${i + 1}`;
    return {
      orderNo: r.orderNo,
      siteId: order.siteId,
      status: order.status,
      ...(order.externalStatus ? { externalOrderStatus: order.externalStatus } : {}),
      exportStatus: order.exportStatus,
      paymentStatus: r.paymentStatus ?? 'not_paid',
      shippingStatus: shippingStatusOf(order),
      confirmationStatus: 'confirmed',
      channelType: r.channelType,
      currency: r.currency,
      creationDate: order.creationDate,
      lastModified: order.lastModified,
      ...(r.customerLocale ? { customerLocale: r.customerLocale } : {}),
      customerInfo: {
        guest: true,
        customerName: [r.billingAddress.firstName, r.billingAddress.lastName].filter(Boolean).join(' '),
      },
      billingAddress: r.billingAddress,
      productItems: r.productItems.map((item, i) => ({
        itemId: `${r.orderNo}-item-${i + 1}`,
        position: i + 1,
        productId: item.productId,
        ...(item.productName ? { productName: item.productName } : {}),
        quantity: item.quantity,
        basePrice: item.basePrice,
        grossPrice: item.grossPrice,
        netPrice: item.netPrice,
        tax: item.tax,
        taxRate: 0,
        shipmentId: item.shipmentId,
        ...Object.fromEntries(Object.entries(item).filter(([key]) => key.startsWith('c_'))),
      })),
      shipments: r.shipments.map((s, i) => ({
        shipmentId: s.shipmentId,
        shipmentNo: shipmentNo(i),
        shippingMethod: { id: s.shippingMethod },
        shippingAddress: s.shippingAddress,
        shippingStatus: order.shipped.has(s.shipmentId) ? 'shipped' : 'not_shipped',
        ...(order.shipped.has(s.shipmentId)
          ? { trackingNumber: order.shipped.get(s.shipmentId)?.trackingNumber, ...order.shipped.get(s.shipmentId)?.custom }
          : {}),
        shippingTotal: s.shippingTotal,
        taxTotal: s.taxTotal,
        shipmentTotal: s.shippingTotal,
      })),
      orderTotal: r.orderTotal,
      taxTotal: r.taxTotal,
      ...order.custom,
    };
  }

  function inventoryRecord(listId: string, record: { productId: string; allocation: number; turnover: number; perpetual: boolean }) {
    return {
      _type: 'product_inventory_record',
      product_id: record.productId,
      inventory_list_id: listId,
      allocation: { amount: record.allocation },
      ats: Math.max(0, record.allocation - record.turnover),
      stock_level: record.allocation - record.turnover,
      inventory_turnover: record.turnover,
      perpetual_flag: record.perpetual,
    };
  }

  function apply(route: SfccRoute, params: string[], request: VendorRequest): Reply {
    const { url, raw } = request;
    if (route === 'amToken') return tokenReply('am', request, undefined);
    if (route === 'slasToken') return tokenReply('slas', request, params[0]);
    if (route === 'getInventoryRecord' || route === 'listInventoryRecords') {
      const listId = decodeURIComponent(params[0] as string);
      const list = store.inventory.get(listId);
      if (!list) throw new OcapiFault(404, 'InventoryListNotFoundException', `No inventory list with ID '${listId}' was found.`);
      if (route === 'getInventoryRecord') {
        const productId = decodeURIComponent(params[1] as string);
        const record = list.get(productId);
        if (!record) {
          throw new OcapiFault(404, 'ProductInventoryRecordNotFoundException', `No inventory record for product '${productId}' was found.`);
        }
        return { status: 200, body: { _v: '25.6', ...inventoryRecord(listId, record) } };
      }
      const start = Number(url.searchParams.get('start') ?? 0);
      const count = Number(url.searchParams.get('count') ?? 25);
      if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1 || count > MAX_PAGE) {
        throw new OcapiFault(400, 'InvalidParameterException', `start must be ≥ 0 and count between 1 and ${MAX_PAGE}.`);
      }
      const records = [...list.values()].sort((a, b) => a.productId.localeCompare(b.productId));
      const data = records.slice(start, start + count).map((r) => inventoryRecord(listId, r));
      const next = start + data.length < records.length ? { next: `${url.pathname}?start=${start + count}&count=${count}` } : {};
      return { status: 200, body: { _v: '25.6', count: data.length, data, start, total: records.length, ...next } };
    }

    const org = params[0];
    if (org !== organizationId) {
      throw problem(404, 'not-found', 'Not Found', `Organization '${org}' is not served by this sandbox.`);
    }
    const siteId = url.searchParams.get('siteId') ?? '';
    if (!siteIds.has(siteId)) throw problem(400, 'bad-request', 'Bad Request', `Unknown or missing siteId '${siteId}'.`);
    const orderNo = params[1] === undefined ? undefined : decodeURIComponent(params[1]);
    const json = () => {
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw problem(400, 'bad-request', 'Bad Request', 'The request body is not valid JSON.');
      }
    };
    switch (route) {
      case 'createOrders': {
        const order = store.createOrder(siteId, validated(CreateOrderRequestSchema, json()));
        const location = `/checkout/orders/v1/organizations/${organizationId}/orders/${encodeURIComponent(order.request.orderNo as string)}?siteId=${siteId}`;
        return { status: 201, headers: { location } };
      }
      case 'getOrders': {
        const limit = Number(url.searchParams.get('limit') ?? 100);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE || !Number.isInteger(offset) || offset < 0 || offset + limit > 10_000) {
          throw problem(400, 'bad-request', 'Bad Request', `limit must be 1 to ${MAX_PAGE}, offset ≥ 0 and offset + limit ≤ 10000.`);
        }
        const from = url.searchParams.get('lastModifiedDateFrom') ?? undefined;
        if (from !== undefined && Number.isNaN(Date.parse(from))) throw problem(400, 'bad-request', 'Bad Request', 'lastModifiedDateFrom is not a date.');
        const orders = store.list(siteId, {
          from,
          shippingStatus: url.searchParams.getAll('shippingStatus').flatMap((v) => v.split(',')),
          by: url.searchParams.get('sortBy') === 'last_modified_date' ? 'lastModified' : 'creationDate',
          descending: url.searchParams.get('sortOrder') !== 'asc',
        });
        return { status: 200, body: { data: orders.slice(offset, offset + limit).map(orderResponse) } };
      }
      case 'getOrder':
        return { status: 200, body: orderResponse(store.find(siteId, orderNo as string)) };
      case 'updateOrder':
        store.updateCustom(siteId, orderNo as string, validated(OrderUpdateSchema, json()));
        return { status: 204 };
      case 'updateOrderStatus':
        store.setStatus(siteId, orderNo as string, validated(OrderStatusUpdateSchema, json()).status);
        return { status: 204 };
      case 'updateOrderExternalStatus':
        store.setExternalStatus(siteId, orderNo as string, validated(OrderExternalStatusUpdateSchema, json()).status);
        return { status: 204 };
      case 'updateOrderExportStatus':
        store.setExportStatus(siteId, orderNo as string, validated(OrderExportStatusUpdateSchema, json()).status);
        return { status: 204 };
      case 'updateOrderShippingStatus':
        store.setShippingStatus(siteId, orderNo as string, validated(OrderShippingStatusUpdateSchema, json()).status);
        return { status: 204 };
    }
  }

  function handle(request: VendorRequest, fault: SandboxFault | undefined): Reply | 'hang' {
    const { method, url } = request;
    const route = ROUTES.find((r) => r.method === method && r.path.test(url.pathname));
    if (!route) throw problem(404, 'not-found', 'Not Found', `${method} ${url.pathname} is not served by this sandbox.`);
    if (request.raw.length > MAX_BODY_BYTES) throw problem(413, 'payload-too-large', 'Payload Too Large', 'The request body exceeds 5 MB.');
    if (route.auth.kind !== 'token') {
      const kind = bearer(request.headers);
      const accepted = route.auth.kind === 'ocapi' ? kind === 'am' : kind !== undefined && route.auth.accepts.includes(kind);
      if (!accepted) {
        if (route.auth.kind === 'ocapi') throw new OcapiFault(401, 'InvalidAccessTokenException', 'The access token is invalid or expired.');
        throw problem(401, 'unauthorized', 'Unauthorized', 'A valid token of the type this endpoint requires is missing or expired.');
      }
    }
    const admitted = limiter.admit(route.name);
    if (!admitted.ok) return tooManyRequests(admitted.retryAfterSeconds);
    if (fault?.kind === 'status') {
      if (fault.status === 429) return tooManyRequests(fault.retryAfterSeconds ?? 1);
      return { status: fault.status, body: problem(fault.status, 'service-unavailable', 'Service Unavailable', 'Service Unavailable').body() };
    }
    if (fault?.kind === 'timeout' && !fault.afterEffect) return 'hang';
    const reply = apply(route.name, route.path.exec(url.pathname)?.slice(1) ?? [], request);
    return fault?.kind === 'timeout' ? 'hang' : reply;
  }

  function errorReply(error: unknown): Reply {
    if (error instanceof ScapiProblem) return { status: error.status, body: error.body() };
    if (error instanceof OAuthProblem) {
      return { status: error.status, body: { error: error.error }, headers: { 'content-type': 'application/problem+json' } };
    }
    if (error instanceof OcapiFault) return { status: error.status, body: { _v: '25.6', fault: { type: error.type, message: error.message } } };
    return { status: 500, body: problem(500, 'internal-server-error', 'Internal Server Error', 'Unexpected sandbox error.').body() };
  }

  const server = await startVendorServer({
    port: options.port,
    maxBodyBytes: MAX_BODY_BYTES,
    now,
    routeOf: (method, path) => ROUTES.find((r) => r.method === method && r.path.test(path))?.name,
    handle: (request, fault) => {
      try {
        return handle(request, fault);
      } catch (error) {
        return errorReply(error);
      }
    },
    state: () => ({
      orders: [...store.orders.values()].map((o) => ({
        orderNo: o.request.orderNo,
        siteId: o.siteId,
        status: o.status,
        externalStatus: o.externalStatus,
        exportStatus: o.exportStatus,
        custom: o.custom,
      })),
      duplicatesRejected: store.duplicatesRejected,
    }),
  });

  return {
    url: server.url,
    store,
    requests: server.requests,
    inject: server.inject,
    limitOf: (route) => limiter.limitOf(route),
    reset() {
      store.clear();
      tokens.clear();
      limiter.reset();
      server.reset();
    },
    close: () => server.close(),
  };
}
