/**
 * Calls on the Dotdigital account's own region, shared by the connector and the scheduled enrolment run: the region is
 * discovered once (`/v2/account-info` → `ApiEndpoint`) and kept; a 403 (the account moved region) rediscovers once;
 * v2's flat-rate cap (HTTP 400 `ERROR_APIUSAGE_EXCEEDED`) is rate limiting; any other refusal is permanent and names
 * Dotdigital's error code.
 */
import type { Config } from '../config';
import { PermanentError } from '../connector/failures';
import { HttpError, type HttpClient, type HttpResponse, type RetryPolicy } from '../http';
import { type Credentials, DOTDIGITAL_DISCOVERY_URL, type DotdigitalMethod, dotdigitalHeaders, dotdigitalSettings, paths } from './requests';

export type Json = Record<string, unknown>;

/** A v3 error code or a v2 `ERROR_*` token: enough to fix the mapping, free of the values that were sent. */
export function dotdigitalErrorCode(error: HttpError): string | undefined {
  const text = error.bodySnippet ?? '';
  const legacy = /ERROR_[A-Z_]+/.exec(text)?.[0];
  if (legacy) return legacy;
  return /"errorCode"\s*:\s*"([\w:.-]+)"/.exec(text)?.[1];
}

/** The legacy flat scheme caps with HTTP 400 `ERROR_APIUSAGE_EXCEEDED`: rate limiting, not a bad request. */
function asRateLimit(error: HttpError): HttpError {
  return new HttpError({
    operation: error.operation,
    kind: 'status',
    status: error.status,
    retryable: true,
    rateLimited: true,
    attempts: error.attempts,
    detail: 'ERROR_APIUSAGE_EXCEEDED',
  });
}

export interface DotdigitalApiDeps {
  config: Config;
  http: HttpClient;
  credentials(): Promise<Credentials>;
}

export interface DotdigitalApi {
  /** `retry` overrides the HTTP layer's policy, e.g. `{ maxAttempts: 1 }` for a call that must not be repeated. */
  call(operation: string, method: DotdigitalMethod, path: string, body?: unknown, options?: { retry?: Partial<RetryPolicy> }): Promise<HttpResponse>;
  /** A GET whose 404 means "none yet". */
  find(operation: string, path: string): Promise<Json | undefined>;
}

export function createDotdigitalApi(deps: DotdigitalApiDeps): DotdigitalApi {
  const discoveryUrl = dotdigitalSettings(deps.config).baseUrl ?? DOTDIGITAL_DISCOVERY_URL;
  let region: Promise<string> | undefined;

  async function raw(operation: string, method: DotdigitalMethod, url: string, body: unknown, retry?: Partial<RetryPolicy>): Promise<HttpResponse> {
    const headers = dotdigitalHeaders(await deps.credentials());
    return deps.http.request({
      operation: `dotdigital.${operation}`,
      method,
      url,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(retry ? { retry } : {}),
    });
  }

  function discover(): Promise<string> {
    region ??= raw('accountInfo', 'GET', `${discoveryUrl.replace(/\/+$/, '')}${paths.accountInfo()}`, undefined).then(
      (response) => {
        const properties = ((response.json as Json | undefined)?.properties ?? []) as { name?: string; value?: string }[];
        const endpoint = properties.find((p) => p.name === 'ApiEndpoint')?.value;
        if (!endpoint) throw new PermanentError('dotdigital.accountInfo: no ApiEndpoint in the account information');
        return endpoint.replace(/\/+$/, '');
      },
      (error: unknown) => {
        region = undefined;
        throw error;
      },
    );
    return region;
  }

  async function call(
    operation: string,
    method: DotdigitalMethod,
    path: string,
    body?: unknown,
    options: { retry?: Partial<RetryPolicy> } = {},
    rediscovered = false,
  ): Promise<HttpResponse> {
    const base = await discover();
    try {
      return await raw(operation, method, `${base}${path}`, body, options.retry);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      // Access denied on a wrong region: nothing was done there, so the call may go again to the right one.
      if (error.status === 403 && !rediscovered) {
        region = undefined;
        return call(operation, method, path, body, options, true);
      }
      const code = dotdigitalErrorCode(error);
      if (error.status === 400 && code === 'ERROR_APIUSAGE_EXCEEDED') throw asRateLimit(error);
      if (!error.retryable) throw new PermanentError(code ? `${error.message}: ${code}` : error.message, { cause: error });
      throw error;
    }
  }

  async function find(operation: string, path: string): Promise<Json | undefined> {
    try {
      return (await call(operation, 'GET', path)).json as Json | undefined;
    } catch (error) {
      if (error instanceof PermanentError && error.cause instanceof HttpError && error.cause.status === 404) return undefined;
      throw error;
    }
  }

  return { call, find };
}
