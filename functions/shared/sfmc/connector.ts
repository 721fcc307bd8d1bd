/**
 * The SFMC connector: one client-credentials token per ~20 minutes (cached for its lifetime less a minute, shared
 * by concurrent calls, refreshed on a 401), REST calls on the token's `rest_instance_url`, and what
 * `requests.ts` builds sent in order: data extension rows before the journey entry that reads them. Async upserts
 * are polled to completion; their row-level errors make the record a permanent failure.
 */
import type { Config } from '../config';
import { type Connector, prefersBulkWith } from '../connector/runtime';
import { PermanentError, mapForDestination } from '../connector/failures';
import type { BusinessEvent } from '../events';
import { isErasure } from '../privacy/erasure';
import { HttpError, type HttpClient, type HttpResponse } from '../http';
import {
  type PlannedRequest,
  type SfmcMethod,
  asyncRequests,
  authBaseUrl,
  paths,
  sfmcHeaders,
  sfmcSettings,
  sfmcWorkForConfig,
  syncRequests,
} from './requests';

/** Refresh this long before the token expires, so a call never starts with a token about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

export interface SfmcCredentials {
  clientId: string;
  clientSecret: string;
}

interface Token {
  accessToken: string;
  restUrl: string;
  expiresAt: number;
}

type Json = Record<string, unknown>;

/**
 * Client-credentials tokens for one installed package: cached in module scope across warm invocations, one request
 * in flight however many calls need a token, refreshed on expiry (less a margin) or when the API says 401.
 */
export class SfmcTokenCache {
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly authUrl: string,
    private readonly credentials: () => Promise<SfmcCredentials>,
    private readonly accountId: number | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Token> {
    if (this.token && this.now() < this.token.expiresAt - TOKEN_REFRESH_MARGIN_MS) return this.token;
    this.pending ??= this.request()
      .then((token) => {
        this.token = token;
        return token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** Forgets `token` unless a newer one has already replaced it (several calls may see the same 401). */
  invalidate(token: Token): void {
    if (this.token === token) this.token = undefined;
  }

  private async request(): Promise<Token> {
    const { clientId, clientSecret } = await this.credentials();
    const requestedAt = this.now();
    let response: HttpResponse;
    try {
      response = await this.http.request({
        operation: 'sfmc.token',
        method: 'POST',
        url: `${this.authUrl}${paths.token()}`,
        json: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          ...(this.accountId === undefined ? {} : { account_id: this.accountId }),
        },
      });
    } catch (error) {
      if (error instanceof HttpError && !error.retryable) {
        throw new PermanentError(`${error.message}: check the installed package's client id, secret and account id`, { cause: error });
      }
      throw error;
    }
    const body = (response.json ?? {}) as Json;
    if (typeof body.access_token !== 'string' || typeof body.rest_instance_url !== 'string' || typeof body.expires_in !== 'number') {
      throw new PermanentError('sfmc.token: the token response lacks access_token, rest_instance_url or expires_in');
    }
    return {
      accessToken: body.access_token,
      restUrl: body.rest_instance_url.replace(/\/+$/, ''),
      expiresAt: requestedAt + body.expires_in * 1000,
    };
  }
}

export interface SfmcConnectorDeps {
  config: Config;
  http: HttpClient;
  /** Shared across connector instances of one package when given (e.g. the Lambda's module scope). */
  tokens?: SfmcTokenCache;
  credentials(): Promise<SfmcCredentials>;
  poll?: { intervalMs: number; timeoutMs: number };
  sleep?: (ms: number) => Promise<void>;
}

/** SFMC's `errorcode` and message prefix, free of row values. */
function sfmcErrorCode(error: HttpError): string | undefined {
  const code = /"errorcode"\s*:\s*(\d+)/i.exec(error.bodySnippet ?? '')?.[1];
  return code ? `errorcode ${code}` : undefined;
}

export function createSfmcConnector(deps: SfmcConnectorDeps): Connector {
  const settings = sfmcSettings(deps.config);
  const tokens = deps.tokens ?? new SfmcTokenCache(deps.http, authBaseUrl(settings), deps.credentials, settings.accountId);
  const poll = deps.poll ?? { intervalMs: 2_000, timeoutMs: 30_000 };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** One REST call on the token's instance; a 401 (token revoked or expired early) gets one fresh token. */
  async function call(operation: string, method: SfmcMethod, path: string, body?: unknown, renewed = false): Promise<HttpResponse> {
    const token = await tokens.get();
    try {
      return await deps.http.request({
        operation: `sfmc.${operation}`,
        method,
        url: `${token.restUrl}${path}`,
        headers: sfmcHeaders(token.accessToken),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 401 && !renewed) {
        tokens.invalidate(token);
        return call(operation, method, path, body, true);
      }
      if (!error.retryable) {
        const code = sfmcErrorCode(error);
        throw new PermanentError(code ? `${error.message}: ${code}` : error.message, { cause: error });
      }
      throw error;
    }
  }

  async function awaitAsync(requestId: string): Promise<void> {
    const deadline = Date.now() + poll.timeoutMs;
    for (;;) {
      const status = ((await call('asyncStatus', 'GET', paths.asyncStatus(requestId))).json ?? {}) as Json;
      const state = (status.status ?? {}) as Json;
      if (state.requestStatus === 'Complete') {
        if (state.hasErrors !== true) return;
        const results = ((await call('asyncResults', 'GET', paths.asyncResults(requestId))).json ?? {}) as Json;
        const codes = [...new Set(((results.items ?? []) as Json[]).map((i) => String(i.errorCode)))].join(', ');
        throw new PermanentError(`sfmc async upsert finished with row errors: ${codes || 'unknown'}`);
      }
      if (state.requestStatus === 'Error') throw new PermanentError('sfmc async upsert failed (requestStatus Error)');
      // Upserts are idempotent by primary key: sending the rows again later is harmless.
      if (Date.now() >= deadline) throw new Error(`sfmc async upsert still pending after ${poll.timeoutMs} ms`);
      await sleep(poll.intervalMs);
    }
  }

  async function send(requests: PlannedRequest[]): Promise<void> {
    for (const request of requests) {
      const path = request.url;
      if (path.startsWith('/data/v1/async/')) {
        const response = await call('asyncUpsert', 'PUT', path, request.body);
        const requestId = (response.json as Json | undefined)?.requestId;
        if (typeof requestId !== 'string') throw new PermanentError('sfmc async upsert answered without a requestId');
        await awaitAsync(requestId);
      } else if (path === paths.journeyBatch()) {
        const answer = ((await call('journeyBatch', 'POST', path, request.body)).json ?? {}) as Json;
        const failed = ((answer.members ?? []) as Json[]).filter((m) => m.errorcode !== undefined);
        if (failed.length > 0) throw new PermanentError(`sfmc journey entry refused ${failed.length} contact(s): errorcode ${String(failed[0]?.errorcode)}`);
      } else {
        await call(path === paths.journeyEvent() ? 'journeyEvent' : 'rowset', request.method, path, request.body);
      }
    }
  }

  /**
   * Erasure: contact delete by key (`ContactAndAttributes`), which SFMC queues, suppresses the contact at once and
   * removes them from every list and sendable data extension after the account's suppression period.
   */
  async function erase(contactKey: string): Promise<void> {
    const answer = ((await call('deleteContact', 'POST', paths.contactDelete(), { values: [contactKey], DeleteOperationType: 'ContactAndAttributes' })).json ?? {}) as Json;
    if (answer.operationInitiated !== true || answer.hasErrors === true) throw new PermanentError('sfmc contact delete was not initiated');
  }

  const works = (events: BusinessEvent[]) => mapForDestination('SFMC', () => events.map((e) => sfmcWorkForConfig(e, deps.config)));
  return {
    // Built on an empty base: `call` puts each path on the token's REST instance.
    deliverOne: (event) => (isErasure(event) ? erase(event.detail.identity) : send(syncRequests(works([event]), '', settings))),
    deliverMany: (events) => {
      const mapped = works(events);
      return send(mapped.some((w) => w.backfill) || mapped.length > 50 ? asyncRequests(mapped, '', settings) : syncRequests(mapped, '', settings));
    },
    prefersBulk: prefersBulkWith(settings),
  };
}
