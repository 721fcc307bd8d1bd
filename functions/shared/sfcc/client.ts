/**
 * The SCAPI Orders calls MarketBridge makes, through the shared HTTP layer (429/5xx/timeouts retried there) with the
 * right token for each endpoint: createOrders takes only a SLAS TSOB token, getOrder and the status endpoints only
 * an Account Manager token. A 401 renews the token once (it may have been revoked before its expiry). Calls with a
 * published rate limit are paced under it.
 */
import type { Config, SfccConfig } from '../config';
import { PermanentError } from '../connector/failures';
import { type PacerOptions, RatePacer, type RateLimit, perMinuteOnly, shareOf } from '../connector/pacer';
import { HttpError, type HttpClient, type HttpRequest, type HttpResponse } from '../http';
import { type SfccTokens, type TokenKind, sfccHosts } from './auth';
import { STATUS_RESOURCES, type SfccWrite } from './requests';
import { type CreateOrderRequest, ErrorResponseSchema, OrderSchema, type ScapiOrder } from './scapi';

/** A write that PUTs one of an order's statuses. */
export type StatusWrite = Extract<SfccWrite, { op: keyof typeof STATUS_RESOURCES }>;

/**
 * SCAPI's published per-client limits of the Orders endpoints MarketBridge calls (checkout API family, requests per
 * 60 s; no 5-second limit for these) [https://developer.salesforce.com/docs/commerce/commerce-api/guide/throttle-rates.html]. The family's
 * other endpoints (external, export and shipping status, the order search) share a cumulative limit whose figure
 * is not in our sources: they are not paced, and the sandbox does not limit them.
 */
export const SCAPI_ORDERS_LIMITS = {
  createOrders: perMinuteOnly(1_000),
  getOrder: perMinuteOnly(4_000),
  updateOrder: perMinuteOnly(2_400),
  updateOrderStatus: perMinuteOnly(2_400),
} as const satisfies Record<string, RateLimit>;
export type ScapiPacedOperation = keyof typeof SCAPI_ORDERS_LIMITS;

/** Headroom under the published limits: other API clients of the organization may share them. */
export const SFCC_PACE_UTILISATION = 0.95;

/** One sfcc-orders instance's share of the published limits (split over the event source's concurrency). */
export function sfccOrdersPacer(config: Config, clock: PacerOptions = {}): RatePacer<ScapiPacedOperation> {
  const instances = config.connectors['sfcc-orders']?.maxConcurrency ?? 1;
  return new RatePacer(shareOf(SCAPI_ORDERS_LIMITS, SFCC_PACE_UTILISATION, instances), clock);
}

/** The SCAPI problem type (`…/errors/invalid-order-total`): names the rule without echoing the values sent. */
export function problemType(error: HttpError): string | undefined {
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(error.bodySnippet ?? ''));
    return parsed.success ? parsed.data.type.split('/').pop() : undefined;
  } catch {
    // A truncated or non-JSON body: the status alone must do.
    return undefined;
  }
}

/** Sends `request` with a bearer token of `kind`, renewing it once on 401. */
export async function withToken(
  http: HttpClient,
  tokens: SfccTokens,
  kind: TokenKind,
  request: HttpRequest,
): Promise<HttpResponse> {
  for (let attempt = 1; ; attempt += 1) {
    const token = await tokens.get(kind);
    try {
      return await http.request({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401 && attempt === 1) {
        tokens.invalidate(kind, token);
        continue;
      }
      throw error;
    }
  }
}

export interface SfccOrdersClient {
  createOrder(body: CreateOrderRequest): Promise<void>;
  /** Undefined when no order has this number. */
  getOrder(orderNo: string): Promise<ScapiOrder | undefined>;
  updateAttributes(orderNo: string, attributes: Record<string, unknown>): Promise<void>;
  /** PUTs one of the order's statuses (order, external, export, shipping). */
  updateStatus(write: StatusWrite): Promise<void>;
}

export function createSfccOrdersClient(deps: {
  sfcc: SfccConfig;
  http: HttpClient;
  tokens: SfccTokens;
  pacer: Pick<RatePacer<ScapiPacedOperation>, 'take'>;
}): SfccOrdersClient {
  const { sfcc, http, tokens, pacer } = deps;
  const base = sfccHosts(sfcc).orders;
  const query = { siteId: sfcc.siteId };
  const orderUrl = (orderNo: string) => `${base}/${encodeURIComponent(orderNo)}`;

  /** A rejected write is permanent; its problem type tells what to fix. */
  async function write(kind: TokenKind, request: HttpRequest, paced?: ScapiPacedOperation): Promise<void> {
    try {
      await withToken(http, tokens, kind, paced ? { ...request, beforeAttempt: () => pacer.take(paced) } : request);
    } catch (error) {
      if (error instanceof HttpError && !error.retryable) {
        const type = problemType(error);
        throw new PermanentError(type ? `${error.message}: ${type}` : error.message, { cause: error });
      }
      throw error;
    }
  }

  return {
    createOrder: (body) =>
      write('slas', { operation: 'sfcc.createOrders', method: 'POST', url: base, query, json: body }, 'createOrders'),
    async getOrder(orderNo) {
      try {
        const response = await withToken(http, tokens, 'am', {
          operation: 'sfcc.getOrder',
          beforeAttempt: () => pacer.take('getOrder'),
          method: 'GET',
          url: orderUrl(orderNo),
          query,
        });
        return OrderSchema.parse(response.json);
      } catch (error) {
        if (error instanceof HttpError && error.status === 404) return undefined;
        throw error;
      }
    },
    updateAttributes: (orderNo, attributes) =>
      write('am', { operation: 'sfcc.updateOrder', method: 'PATCH', url: orderUrl(orderNo), query, json: attributes }, 'updateOrder'),
    updateStatus: ({ op, orderNo, body }) =>
      write(
        'am',
        { operation: `sfcc.${op}`, method: 'PUT', url: `${orderUrl(orderNo)}/${STATUS_RESOURCES[op]}`, query, json: body },
        op === 'updateOrderStatus' ? op : undefined,
      ),
  };
}
