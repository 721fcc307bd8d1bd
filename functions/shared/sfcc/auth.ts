/**
 * SFCC tokens, each fetched once and reused for its lifetime (a warm Lambda keeps them), renewed a minute before
 * expiry or when SFCC answers 401:
 * - Account Manager client credentials: OCAPI Data API and the SCAPI admin endpoints (getOrder, updateOrder, status).
 * - SLAS trusted-system-on-behalf (TSOB) guest token: SCAPI `createOrders` accepts nothing else.
 * Concurrent callers share one token request.
 */
import type { SfccConfig } from '../config';
import type { HttpClient } from '../http';
import { AmTokenResponseSchema, SlasTokenResponseSchema } from './scapi';

export type TokenKind = 'am' | 'slas';

/** Fields of the SFCC secret. */
export const SFCC_SECRET_FIELDS = {
  amClientId: 'amClientId',
  amClientSecret: 'amClientSecret',
  slasClientId: 'slasClientId',
  slasClientSecret: 'slasClientSecret',
} as const;

const RENEW_BEFORE_EXPIRY_MS = 60_000;
const ACCOUNT_MANAGER = 'https://account.demandware.com';
export const OCAPI_VERSION = 'v25_6';

/** Where each SFCC API lives; one origin for all of them when `baseUrl` is set (the sandbox). */
export function sfccHosts(sfcc: SfccConfig) {
  const base = sfcc.baseUrl?.replace(/\/+$/, '');
  const scapi = base ?? `https://${sfcc.shortCode}.api.commercecloud.salesforce.com`;
  return {
    amToken: `${base ?? ACCOUNT_MANAGER}/dwsso/oauth2/access_token`,
    slasToken: `${scapi}/shopper/auth/v1/organizations/${sfcc.organizationId}/oauth2/trusted-system/token`,
    orders: `${scapi}/checkout/orders/v1/organizations/${sfcc.organizationId}/orders`,
    ocapi: `${base ?? `https://${sfcc.instanceHost}`}/s/-/dw/data/${OCAPI_VERSION}`,
    oci: `${scapi}/inventory/availability/v1/organizations/${sfcc.inventory?.tenantGroupId ?? ''}`,
  };
}

/** SCAPI admin tokens need the tenant scope (`realm_instance`) besides the API family's scope. */
export function amScope(sfcc: SfccConfig): string {
  return `SALESFORCE_COMMERCE_API:${sfcc.organizationId.replace(/^f_ecom_/, '')} sfcc.orders.rw`;
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

export interface SfccTokenDeps {
  sfcc: SfccConfig;
  http: HttpClient;
  secret(field: string): Promise<string>;
  now?: () => number;
}

interface Cached {
  token: string;
  renewAt: number;
}

export class SfccTokens {
  private readonly cached = new Map<TokenKind, Cached>();
  private readonly pending = new Map<TokenKind, Promise<string>>();
  private readonly now: () => number;
  /** Token requests made, for the benchmark and the token-reuse tests. */
  requests = 0;

  constructor(private readonly deps: SfccTokenDeps) {
    this.now = deps.now ?? Date.now;
  }

  async get(kind: TokenKind): Promise<string> {
    const cached = this.cached.get(kind);
    if (cached && cached.renewAt > this.now()) return cached.token;
    let pending = this.pending.get(kind);
    if (!pending) {
      pending = this.fetch(kind).finally(() => this.pending.delete(kind));
      this.pending.set(kind, pending);
    }
    return pending;
  }

  /** Forgets a token SFCC refused (401), so the next call fetches a new one. */
  invalidate(kind: TokenKind, token: string): void {
    if (this.cached.get(kind)?.token === token) this.cached.delete(kind);
  }

  /** How each kind of token is asked for. */
  private grant(kind: TokenKind) {
    const { sfcc } = this.deps;
    const hosts = sfccHosts(sfcc);
    return kind === 'am'
      ? {
          operation: 'sfcc.amToken',
          url: hosts.amToken,
          fields: [SFCC_SECRET_FIELDS.amClientId, SFCC_SECRET_FIELDS.amClientSecret] as const,
          form: (): Record<string, string> => ({ grant_type: 'client_credentials', scope: amScope(sfcc) }),
          schema: AmTokenResponseSchema,
        }
      : {
          operation: 'sfcc.slasToken',
          url: hosts.slasToken,
          fields: [SFCC_SECRET_FIELDS.slasClientId, SFCC_SECRET_FIELDS.slasClientSecret] as const,
          // A guest on behalf of the marketplace: orders are created for guest customers named by the billing address.
          form: (clientId: string): Record<string, string> => ({
            grant_type: 'client_credentials',
            hint: 'ts_ext_on_behalf_of',
            login_id: 'guest',
            idp_origin: 'ecom',
            channel_id: sfcc.siteId,
            client_id: clientId,
          }),
          schema: SlasTokenResponseSchema,
        };
  }

  private async fetch(kind: TokenKind): Promise<string> {
    const grant = this.grant(kind);
    const [id, key] = await Promise.all(grant.fields.map((field) => this.deps.secret(field)));
    this.requests += 1;
    const issued = this.now();
    const response = await this.deps.http.request({
      operation: grant.operation,
      method: 'POST',
      url: grant.url,
      headers: { authorization: basic(id as string, key as string), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(grant.form(id as string)),
    });
    const { access_token: token, expires_in: expiresIn } = grant.schema.parse(response.json);
    const lifetime = expiresIn * 1000;
    this.cached.set(kind, { token, renewAt: issued + Math.max(lifetime / 2, lifetime - RENEW_BEFORE_EXPIRY_MS) });
    return token;
  }
}
