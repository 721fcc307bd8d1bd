/**
 * The one HTTP layer every outbound call uses (Mirakl, Klaviyo, Dotdigital, SFMC, SFCC).
 *
 * - Each attempt has its own timeout, so one hung connection cannot eat the whole retry budget.
 * - 429 (and 503) honour the server's hint (`Retry-After` seconds or HTTP date by default; pluggable, e.g. for
 *   Dotdigital's `X-RateLimit-Reset`), capped at `maxDelayMs`; the uncapped hint is kept on the error so a queue
 *   consumer can delay the message instead.
 * - 5xx, 408, timeouts and network errors back off exponentially with full jitter (spreads retries of many Lambdas).
 * - Any other non-2xx is permanent: retrying cannot change the answer.
 *
 * Error messages never contain URLs, headers or bodies (they may carry keys or personal data); a short body snippet
 * is kept on a non-enumerable property for callers that know it is safe to record.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
  /** Total attempts including the first one; 1 disables retries. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Bound on HttpError.bodySnippet: enough for a vendor error code, too short for a payload dump. */
export const BODY_SNIPPET_MAX = 300;

/** Reads a server's "wait this long" hint from response headers; undefined when there is none. */
export type RetryAfterExtractor = (headers: Headers, nowMs: number) => number | undefined;

export type QueryValue = string | number | boolean | undefined | readonly (string | number | boolean)[];
export type QueryParams = Readonly<Record<string, QueryValue>>;

export interface HttpRequest {
  /** Stable name used in errors, logs and metrics (e.g. `OR11`, `klaviyo.createEvent`). */
  operation: string;
  method: string;
  url: string | URL;
  /** Appended to the URL; arrays repeat the parameter, undefined values are left out. */
  query?: QueryParams;
  headers?: Readonly<Record<string, string>>;
  /** Must be replayable (no streams): it is sent again on retry. */
  body?: string | Uint8Array<ArrayBuffer> | URLSearchParams | FormData | Blob;
  /** Serialised as the body with `Content-Type: application/json` unless a content type is given. */
  json?: unknown;
  /** Overrides the client's policy, e.g. `{ maxAttempts: 1 }` for a call that must not be repeated. */
  retry?: Partial<RetryPolicy>;
  /**
   * Repeat only failures the server answered (429, 5xx but 504, which a gateway may give after passing the request
   * on): for a call with no dedup key, which a timeout or a reset may already have applied.
   */
  retryAnsweredOnly?: boolean;
  /**
   * Awaited before every attempt, the first included: a rate pacer's turn, because a repeat after a 429 or a 5xx is
   * a request the destination counts like any other.
   */
  beforeAttempt?: () => Promise<void>;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Raw body text ('' when empty). */
  text: string;
  /** Parsed body when the response declares a JSON media type and has a body; otherwise undefined. */
  json: unknown;
  /** Attempts it took, including this one. */
  attempts: number;
}

export interface AttemptEvent {
  operation: string;
  /** 1-based. */
  attempt: number;
  /** Undefined when no HTTP response arrived (timeout or network error). */
  status: number | undefined;
  /** Wait before the next attempt; undefined when there is none. */
  delayMs: number | undefined;
  rateLimited: boolean;
  outcome: 'success' | 'retry' | 'error';
  durationMs: number;
}

export interface HttpClientOptions {
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  retryAfter?: RetryAfterExtractor;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Returns [0, 1), like Math.random. */
  random?: () => number;
  now?: () => number;
  onAttempt?: (event: AttemptEvent) => void;
}

export type HttpErrorKind = 'status' | 'timeout' | 'network' | 'invalid-response';

export interface HttpErrorDetails {
  operation: string;
  kind: HttpErrorKind;
  status?: number;
  retryable: boolean;
  rateLimited?: boolean;
  retryAfterMs?: number;
  attempts: number;
  bodySnippet?: string;
  /** Short, data-free explanation appended to the message (e.g. `ECONNRESET`, `orders: expected array`). */
  detail?: string;
  cause?: unknown;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly operation: string;
  readonly kind: HttpErrorKind;
  /** Undefined when no HTTP response arrived. */
  readonly status: number | undefined;
  /** True when the same request may succeed later (429, 5xx, timeout, network). */
  readonly retryable: boolean;
  readonly rateLimited: boolean;
  /** The server's uncapped wait hint, when it gave one. */
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;
  /** First BODY_SNIPPET_MAX characters of the response body; may contain personal data, never logged by us. */
  declare readonly bodySnippet: string | undefined;

  constructor(details: HttpErrorDetails) {
    super(describe(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.operation = details.operation;
    this.kind = details.kind;
    this.status = details.status;
    this.retryable = details.retryable;
    this.rateLimited = details.rateLimited ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
    // Non-enumerable so generic serialisers (JSON.stringify, loggers) do not copy a vendor body into logs.
    Object.defineProperty(this, 'bodySnippet', { value: details.bodySnippet, enumerable: false });
  }
}

/** The HTTP layer's error behind `error`: itself, or the cause of a failure that wraps it (e.g. a PermanentError). */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  return error instanceof Error && error.cause instanceof HttpError ? error.cause : undefined;
}

/**
 * The server itself refused the request with an error status, so it did nothing. Not a 504: a gateway's timeout,
 * after which the server behind it may still have acted.
 */
const refusedByServer = (d: Pick<HttpErrorDetails, 'kind' | 'status'>) => d.kind === 'status' && d.status !== 504;

/** `error` is an error status the server answered with (see refusedByServer). */
export function refusedByServerError(error: unknown): boolean {
  const http = httpErrorOf(error);
  return http !== undefined && refusedByServer(http);
}

/**
 * Connection failures that happen before a byte of the request is written (undici/Node codes). A reset
 * (ECONNRESET) is not here: it may come after the request was read, and fetch does not say which.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** The request never left: the connection failed before it was written, so the server saw nothing. */
export function neverSent(error: unknown): boolean {
  const http = httpErrorOf(error);
  // HttpError's cause is fetch's TypeError, whose own cause carries the socket error code.
  const code = (http?.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return http?.kind === 'network' && typeof code === 'string' && NOT_SENT_CODES.has(code);
}

function describe(d: HttpErrorDetails): string {
  const what =
    d.kind === 'status'
      ? `HTTP ${d.status}`
      : d.kind === 'invalid-response'
        ? `unexpected response (HTTP ${d.status})`
        : d.kind;
  const detail = d.detail ? `: ${d.detail}` : '';
  const attempts = d.attempts === 1 ? '1 attempt' : `${d.attempts} attempts`;
  return `${d.operation} failed, ${what}${detail} (${d.retryable ? 'retryable' : 'permanent'}, ${attempts})`;
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export const retryAfterHeader: RetryAfterExtractor = (headers, nowMs) => {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};

/** Full jitter: uniform in [0, min(maxDelay, base·2^(attempt-1))) (AWS Architecture Blog, "Exponential Backoff
 * And Jitter"): spreads the retries of many concurrent Lambdas. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export function isRetryableStatus(status: number): boolean {
  // 408 means the server timed out waiting for us: the same class as our own timeouts.
  return status === 408 || status === 429 || status >= 500;
}

export function snippet(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, BODY_SNIPPET_MAX);
}

function isJsonMediaType(contentType: string | null): boolean {
  // application/json, application/problem+json, application/vnd.api+json (Klaviyo), …
  return contentType !== null && /^application\/([\w.-]+\+)?json\b/i.test(contentType.trim());
}

export function buildUrl(url: string | URL, query: QueryParams | undefined): URL {
  const result = new URL(url);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) result.searchParams.append(name, String(v));
  }
  return result;
}

function networkDetail(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

type AttemptResult =
  | { ok: true; response: Omit<HttpResponse, 'attempts'> }
  | { ok: false; error: Omit<HttpErrorDetails, 'attempts'>; retryAfterMs?: number };

export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? delay;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryAfter = options.retryAfter ?? retryAfterHeader;
  const basePolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };

  async function attempt(request: HttpRequest, url: URL, init: RequestInit): Promise<AttemptResult> {
    const operation = request.operation;
    let status: number | undefined;
    try {
      const response = await doFetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      status = response.status;
      const text = await response.text();
      if (response.status >= 200 && response.status < 300) {
        if (!text || !isJsonMediaType(response.headers.get('content-type'))) {
          return { ok: true, response: { status, headers: response.headers, text, json: undefined } };
        }
        try {
          return { ok: true, response: { status, headers: response.headers, text, json: JSON.parse(text) } };
        } catch {
          const detail = 'body is not valid JSON';
          const error = { operation, kind: 'invalid-response', status, retryable: false, detail } as const;
          return { ok: false, error: { ...error, bodySnippet: snippet(text) } };
        }
      }
      const rateLimited = status === 429;
      const hint = status === 429 || status === 503 ? retryAfter(response.headers, now()) : undefined;
      return {
        ok: false,
        retryAfterMs: hint,
        error: {
          operation,
          kind: 'status',
          status,
          retryable: isRetryableStatus(status),
          rateLimited,
          retryAfterMs: hint,
          bodySnippet: snippet(text),
        },
      };
    } catch (cause) {
      // Errors while reading the body (reset mid-stream, timeout) land here too, with the status already known.
      const timedOut = isTimeout(cause);
      return {
        ok: false,
        error: {
          operation,
          kind: timedOut ? 'timeout' : 'network',
          status,
          retryable: true,
          detail: timedOut ? `no response within ${timeoutMs} ms` : networkDetail(cause),
          cause,
        },
      };
    }
  }

  return {
    async request(request) {
      const policy: RetryPolicy = { ...basePolicy, ...request.retry };
      const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));
      const url = buildUrl(request.url, request.query);
      const headers = new Headers(request.headers);
      let body = request.body;
      if (request.json !== undefined) {
        body = JSON.stringify(request.json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      const init: RequestInit = { method: request.method, headers, body };

      for (let n = 1; ; n += 1) {
        await request.beforeAttempt?.();
        const started = now();
        const result = await attempt(request, url, init);
        const durationMs = now() - started;
        const rateLimited = !result.ok && (result.error.rateLimited ?? false);
        const status = result.ok ? result.response.status : result.error.status;
        if (result.ok) {
          const event = { operation: request.operation, attempt: n, status, delayMs: undefined, rateLimited };
          options.onAttempt?.({ ...event, outcome: 'success', durationMs });
          return { ...result.response, attempts: n };
        }
        const willRetry = result.error.retryable && n < maxAttempts && (refusedByServer(result.error) || !request.retryAnsweredOnly);
        const delayMs = willRetry
          ? result.retryAfterMs !== undefined
            ? Math.min(result.retryAfterMs, policy.maxDelayMs)
            : backoffDelayMs(n, policy, random)
          : undefined;
        options.onAttempt?.({
          operation: request.operation,
          attempt: n,
          status,
          delayMs,
          rateLimited,
          outcome: willRetry ? 'retry' : 'error',
          durationMs,
        });
        if (delayMs === undefined) throw new HttpError({ ...result.error, attempts: n });
        if (delayMs > 0) await sleep(delayMs);
      }
    },
  };
}
