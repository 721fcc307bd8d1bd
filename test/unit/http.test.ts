import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  type AttemptEvent,
  BODY_SNIPPET_MAX,
  type HttpClientOptions,
  HttpError,
  backoffDelayMs,
  createHttpClient,
  retryAfterHeader,
} from '../../functions/shared/http';
import { type FetchStep, fakeFetch, jsonResponse, networkError, textResponse } from '../support/fakeFetch';

const NOW = Date.parse('2026-01-10T12:00:00Z');

function setup(steps: FetchStep[], options: HttpClientOptions = {}) {
  const fake = fakeFetch(steps);
  const sleeps: number[] = [];
  const attempts: AttemptEvent[] = [];
  const client = createHttpClient({
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 },
    fetch: fake.fetch,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    now: () => NOW,
    onAttempt: (event) => void attempts.push(event),
    ...options,
  });
  return { client, requests: fake.requests, sleeps, attempts };
}

const get = { operation: 'TEST01', method: 'GET', url: 'https://api.example.test/things' };

async function failure(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('http: responses', () => {
  it('returns status, headers and parsed JSON', async () => {
    const { client } = setup([jsonResponse({ a: 1 }, 200, { 'x-request-id': 'r1' })]);
    const response = await client.request(get);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('r1');
    expect(response.json).toEqual({ a: 1 });
    expect(response.text).toBe('{"a":1}');
  });

  it('parses vendor JSON media types (Klaviyo application/vnd.api+json)', async () => {
    const body = new Response('{"data":[]}', { status: 200, headers: { 'content-type': 'application/vnd.api+json' } });
    const { client } = setup([body]);
    expect((await client.request(get)).json).toEqual({ data: [] });
  });

  it('keeps non-JSON bodies as text and empty bodies as undefined JSON', async () => {
    const { client } = setup([textResponse('ok', 200), new Response(null, { status: 204 })]);
    expect(await client.request(get)).toMatchObject({ status: 200, text: 'ok', json: undefined });
    expect(await client.request(get)).toMatchObject({ status: 204, text: '', json: undefined });
  });

  it('a 2xx that claims JSON but is not is a permanent invalid-response error', async () => {
    const { client } = setup([new Response('<html>maintenance', { status: 200, headers: { 'content-type': 'application/json' } })]);
    const error = await failure(client.request(get));
    expect(error).toMatchObject({ kind: 'invalid-response', status: 200, retryable: false, attempts: 1 });
  });

  it('sends query parameters, headers and a JSON body', async () => {
    const { client, requests } = setup([jsonResponse({})]);
    await client.request({
      operation: 'TEST02',
      method: 'POST',
      url: 'https://api.example.test/things?fixed=1',
      query: { a: 'x y', b: 2, c: true, skip: undefined, many: ['1', '2'] },
      headers: { authorization: 'k' },
      json: { hello: 'world' },
    });
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.url.search).toBe('?fixed=1&a=x+y&b=2&c=true&many=1&many=2');
    expect(request?.headers.get('authorization')).toBe('k');
    expect(request?.headers.get('content-type')).toBe('application/json');
    expect(request?.body).toBe('{"hello":"world"}');
  });
});

describe('http: Retry-After', () => {
  it('honours Retry-After in seconds on 429', async () => {
    const { client, sleeps, attempts } = setup([textResponse('slow down', 429, { 'retry-after': '3' }), jsonResponse({ ok: true })]);
    const response = await client.request(get);
    expect(response.json).toEqual({ ok: true });
    expect(sleeps).toEqual([3_000]);
    expect(attempts.map(({ attempt, status, delayMs, rateLimited, outcome }) => ({ attempt, status, delayMs, rateLimited, outcome }))).toEqual([
      { attempt: 1, status: 429, delayMs: 3_000, rateLimited: true, outcome: 'retry' },
      { attempt: 2, status: 200, delayMs: undefined, rateLimited: false, outcome: 'success' },
    ]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(NOW + 4_000).toUTCString();
    const { client, sleeps } = setup([textResponse('', 429, { 'retry-after': at }), jsonResponse({})]);
    await client.request(get);
    expect(sleeps).toEqual([4_000]);
  });

  it('caps the wait at maxDelayMs but reports the server hint on the error', async () => {
    const { client, sleeps } = setup([textResponse('', 429, { 'retry-after': '3600' }), textResponse('', 429, { 'retry-after': '3600' })], {
      retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 5_000 },
    });
    const error = await failure(client.request(get));
    expect(sleeps).toEqual([5_000]);
    expect(error).toMatchObject({ status: 429, rateLimited: true, retryable: true, retryAfterMs: 3_600_000, attempts: 2 });
  });

  it('falls back to jittered backoff on 429 without a usable hint', async () => {
    const { client, sleeps } = setup([textResponse('', 429), textResponse('', 429, { 'retry-after': 'soon' }), jsonResponse({})]);
    await client.request(get);
    expect(sleeps).toEqual([50, 100]);
  });

  it('uses a pluggable extractor (e.g. a reset timestamp header)', async () => {
    const reset = (headers: Headers, nowMs: number) => {
      const value = headers.get('x-ratelimit-reset');
      return value ? Number(value) * 1000 - nowMs : undefined;
    };
    const resetAt = String(NOW / 1000 + 2);
    const { client, sleeps } = setup([textResponse('', 429, { 'x-ratelimit-reset': resetAt }), jsonResponse({})], {
      retryAfter: reset,
    });
    await client.request(get);
    expect(sleeps).toEqual([2_000]);
  });

  it('parses seconds, dates, past dates and garbage', () => {
    const h = (value: string) => new Headers({ 'Retry-After': value });
    expect(retryAfterHeader(h('120'), NOW)).toBe(120_000);
    expect(retryAfterHeader(h(' 0 '), NOW)).toBe(0);
    expect(retryAfterHeader(h('Sat, 10 Jan 2026 12:01:00 GMT'), NOW)).toBe(60_000);
    expect(retryAfterHeader(h('Sat, 10 Jan 2026 11:00:00 GMT'), NOW)).toBe(0);
    expect(retryAfterHeader(h('later'), NOW)).toBeUndefined();
    expect(retryAfterHeader(new Headers(), NOW)).toBeUndefined();
  });
});

describe('http: retries and permanent failures', () => {
  it('retries 5xx with exponential backoff, then succeeds', async () => {
    const { client, sleeps, requests } = setup([textResponse('', 502), textResponse('', 503), jsonResponse({ ok: 1 })]);
    expect(await client.request(get)).toMatchObject({ json: { ok: 1 }, attempts: 3 });
    expect(requests).toHaveLength(3);
    // random 0.5 × min(5000, 100·2^(n-1))
    expect(sleeps).toEqual([50, 100]);
  });

  it('awaits beforeAttempt (a pacer turn) before every attempt, after the backoff, so a repeat is paced too', async () => {
    const order: string[] = [];
    const { client, requests } = setup([textResponse('', 429), textResponse('', 503), jsonResponse({ ok: 1 })], {
      sleep: async (ms) => void order.push(`sleep ${ms}`),
    });
    await client.request({ ...get, beforeAttempt: async () => void order.push(`turn ${requests.length + 1}`) });
    expect(order).toEqual(['turn 1', 'sleep 50', 'turn 2', 'sleep 100', 'turn 3']);
  });

  it('exhausting the budget gives a retryable HttpError with a bounded snippet and a clean message', async () => {
    const secretBody = `{"error":"boom","email":"jane@example.com","pad":"${'x'.repeat(1000)}"}`;
    const steps = Array.from({ length: 4 }, () => textResponse(secretBody, 500));
    const { client, attempts } = setup(steps);
    const error = await failure(client.request({ ...get, url: 'https://api.example.test/things?email=jane@example.com' }));
    expect(error).toMatchObject({ operation: 'TEST01', kind: 'status', status: 500, retryable: true, rateLimited: false, attempts: 4 });
    expect(error.bodySnippet?.length).toBeLessThanOrEqual(BODY_SNIPPET_MAX);
    expect(error.bodySnippet).toContain('boom');
    expect(error.message).toBe('TEST01 failed, HTTP 500 (retryable, 4 attempts)');
    expect(JSON.stringify(error)).not.toContain('jane');
    expect(attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'retry', 'error']);
  });

  it('400 is permanent: one attempt, no sleep', async () => {
    const { client, sleeps, requests } = setup([textResponse('{"message":"bad param"}', 400)]);
    const error = await failure(client.request(get));
    expect(error).toMatchObject({ status: 400, retryable: false, rateLimited: false, attempts: 1 });
    expect(requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each([401, 403, 404, 409, 422])('%i is permanent', async (status) => {
    const { client, requests } = setup([textResponse('', status)]);
    expect(await failure(client.request(get))).toMatchObject({ status, retryable: false });
    expect(requests).toHaveLength(1);
  });

  it('retries network errors and connection resets', async () => {
    const { client, attempts } = setup([networkError('ECONNRESET'), networkError('ENOTFOUND'), jsonResponse({})]);
    await client.request(get);
    expect(attempts.map((a) => [a.status, a.outcome])).toEqual([
      [undefined, 'retry'],
      [undefined, 'retry'],
      [200, 'success'],
    ]);
  });

  it('a network error that persists names its code and has no status', async () => {
    const { client } = setup([networkError(), networkError()], { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const error = await failure(client.request(get));
    expect(error).toMatchObject({ kind: 'network', status: undefined, retryable: true, attempts: 2 });
    expect(error.message).toBe('TEST01 failed, network: ECONNRESET (retryable, 2 attempts)');
  });

  it('a per-request policy can forbid repeating a call', async () => {
    const { client, requests } = setup([textResponse('', 503), jsonResponse({})]);
    const error = await failure(client.request({ ...get, retry: { maxAttempts: 1 } }));
    expect(error).toMatchObject({ status: 503, retryable: true, attempts: 1 });
    expect(requests).toHaveLength(1);
  });

  it('a call with no dedup key repeats only answered refusals: 503 and 429 again, a reset or a 504 never', async () => {
    const post = { ...get, method: 'POST', retryAnsweredOnly: true };
    const answered = setup([textResponse('', 503), textResponse('', 429), jsonResponse({ ok: 1 })]);
    expect(await answered.client.request(post)).toMatchObject({ attempts: 3 });
    for (const unanswered of [networkError('ECONNRESET'), textResponse('', 504)]) {
      const { client, requests } = setup([unanswered, jsonResponse({})]);
      expect(await failure(client.request(post))).toMatchObject({ retryable: true, attempts: 1 });
      expect(requests).toHaveLength(1);
    }
  });
});

describe('http: timeouts', () => {
  it('times out each attempt and retries', async () => {
    const { client, attempts } = setup(['hang', jsonResponse({ ok: true })], { timeoutMs: 20 });
    expect((await client.request(get)).json).toEqual({ ok: true });
    expect(attempts[0]).toMatchObject({ status: undefined, outcome: 'retry' });
  });

  it('persistent timeouts give a retryable timeout error', async () => {
    const { client } = setup(['hang', 'hang'], { timeoutMs: 20, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const error = await failure(client.request(get));
    expect(error).toMatchObject({ kind: 'timeout', status: undefined, retryable: true, attempts: 2 });
    expect(error.message).toBe('TEST01 failed, timeout: no response within 20 ms (retryable, 2 attempts)');
  });

  it('a body that stalls after the headers also times out', async () => {
    let calls = 0;
    // Like undici, the body stream errors with the abort reason when the signal fires.
    const stallingFetch = (async (_input: string | URL | Request, init?: RequestInit) => {
      calls += 1;
      if (calls > 1) return jsonResponse({ ok: true });
      const signal = init?.signal;
      const body = new ReadableStream({
        start: (controller) => signal?.addEventListener('abort', () => controller.error(signal.reason), { once: true }),
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const client = createHttpClient({ timeoutMs: 20, fetch: stallingFetch, sleep: async () => undefined });
    expect((await client.request(get)).json).toEqual({ ok: true });
    expect(calls).toBe(2);
  });
});

describe('http: jitter', () => {
  const policy = { maxAttempts: 10, baseDelayMs: 200, maxDelayMs: 10_000 };

  it('stays within [0, min(max, base·2^(n-1)))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const delay = backoffDelayMs(n, policy, () => r);
        const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
        return delay >= 0 && delay < ceiling && Number.isInteger(delay);
      }),
    );
  });

  it('hits the bounds at the extremes of random()', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(3, policy, () => 0.999999)).toBe(799);
    expect(backoffDelayMs(20, policy, () => 0.999999)).toBe(9_999);
  });
});
