/**
 * Contract with Klaviyo's OpenAPI document (revision 2026-07-15): every request the connector can send validates,
 * the limits we pace under are the published ones, and the sandbox answers (and refuses) as the document says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError, createHttpClient } from '../../functions/shared/http';
import {
  KLAVIYO_OPERATIONS,
  bulkRequests,
  klaviyoRequestsFor,
  klaviyoWorkForConfig,
} from '../../functions/shared/klaviyo/requests';
import { type KlaviyoSandbox, startKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';
import { KLAVIYO_TEST_KEY, klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';

const SPEC = 'klaviyo/stable.json';
const config = klaviyoConfig();
const events: BusinessEvent[] = [
  ...orderLifeEvents('debenhams', 'CT1-A'),
  ...orderLifeEvents('decathlon', 'CT2-A', { lines: 5 }),
  ...orderLifeEvents('debenhams', 'CT3-A', { backfill: true }),
];

describeWithSpec(SPEC, 'Klaviyo requests validate against the OpenAPI document', (spec) => {
  const requests = [
    ...events.flatMap((e) => klaviyoRequestsFor(e, config)),
    ...events.flatMap((e) => klaviyoRequestsFor(e, config, { backfill: true })),
    ...bulkRequests(events.map((e) => klaviyoWorkForConfig(e, config)), 'https://a.klaviyo.com'),
  ];

  it.each(requests.map((r, i) => [i, new URL(r.url).pathname, r] as const))('request %i: POST %s', (_, path, request) => {
    expect(validateRequest(spec, request.method, path, { body: request.body, headers: request.headers })).toEqual([]);
  });

  it('covers every operation the connector uses', () => {
    const paths = new Set(requests.map((r) => new URL(r.url).pathname));
    expect(paths).toEqual(new Set(Object.values(KLAVIYO_OPERATIONS).map((op) => op.path)));
  });

  it('paces under the rate limits the document publishes', () => {
    const paths = spec.doc.paths as Record<string, { post?: { 'x-klaviyo-ratelimit'?: { burst: string; steady: string } } }>;
    for (const op of Object.values(KLAVIYO_OPERATIONS)) {
      expect(paths[op.path]?.post?.['x-klaviyo-ratelimit']).toEqual({
        burst: `${op.limit.perSecond}/s`,
        steady: `${op.limit.perMinute}/m`,
      });
    }
  });
});

describeWithSpec(SPEC, 'Klaviyo sandbox behaves as the document and Klaviyo do', (spec) => {
  let sandbox: KlaviyoSandbox;
  beforeAll(async () => {
    sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY], limits: { bulkImportProfiles: { perSecond: 2, perMinute: 100 } } });
  });
  afterAll(() => sandbox.close());

  const headers = { Authorization: `Klaviyo-API-Key ${KLAVIYO_TEST_KEY}`, revision: '2026-07-15', 'content-type': 'application/vnd.api+json' };
  async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
    const response = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { ...headers, ...extra },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
  }
  const requestsOf = (event: BusinessEvent, backfill = false) =>
    klaviyoRequestsFor(event, klaviyoConfig({ baseUrl: sandbox.url }), { backfill });

  it('answers profile-import 201 then 200, bulk jobs 202 and job status 200, all as documented', async () => {
    const [profileImport] = requestsOf(events[0] as BusinessEvent);
    const created = await call('POST', '/api/profile-import', profileImport?.body);
    expect(created.status).toBe(201);
    expect(validateResponse(spec, 'POST', '/api/profile-import', 201, created.body)).toEqual([]);
    const updated = await call('POST', '/api/profile-import', profileImport?.body);
    expect(updated.status).toBe(200);
    expect(validateResponse(spec, 'POST', '/api/profile-import', 200, updated.body)).toEqual([]);

    const [profileJob, eventJob] = requestsOf(events[0] as BusinessEvent, true);
    const job = await call('POST', '/api/profile-bulk-import-jobs', profileJob?.body);
    expect(job.status).toBe(202);
    expect(validateResponse(spec, 'POST', '/api/profile-bulk-import-jobs', 202, job.body)).toEqual([]);
    const id = (job.body as { data: { id: string } }).data.id;
    const status = await call('GET', `/api/profile-bulk-import-jobs/${id}`);
    expect(status.status).toBe(200);
    expect(validateResponse(spec, 'GET', '/api/profile-bulk-import-jobs/{job_id}', 200, status.body)).toEqual([]);
    expect((status.body as { data: { attributes: { status: string } } }).data.attributes.status).toBe('complete');

    const bulk = await call('POST', '/api/event-bulk-create-jobs', eventJob?.body);
    expect(bulk.status).toBe(202);
    expect(bulk.body).toBeUndefined();
  });

  it('rejects a body the document does not allow, in the JSON:API error format', async () => {
    const response = await call('POST', '/api/events', { data: { type: 'event', attributes: { properties: {} } } });
    expect(response.status).toBe(400);
    expect(validateResponse(spec, 'POST', '/api/events', 400, response.body)).toEqual([]);
    expect(response.body).toMatchObject({ errors: [{ code: 'invalid', source: { pointer: expect.stringContaining('/data/attributes') } }] });
  });

  it('refuses a missing or wrong key (401) and a missing revision (400)', async () => {
    const body = requestsOf(events[1] as BusinessEvent)[0]?.body;
    const bad = await call('POST', '/api/events', body, { Authorization: 'Klaviyo-API-Key pk_wrong' });
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ errors: [{ code: 'not_authenticated' }] });
    expect(validateResponse(spec, 'POST', '/api/events', 401, bad.body)).toEqual([]);
    const noRevision = await fetch(`${sandbox.url}/api/events`, {
      method: 'POST',
      headers: { Authorization: headers.Authorization },
      body: JSON.stringify(body),
    });
    expect(noRevision.status).toBe(400);
  });

  it('rate-limits per endpoint with 429 and Retry-After, which the shared HTTP layer honours', async () => {
    const [profileJob] = requestsOf(events[0] as BusinessEvent, true);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 4; i++) {
      const response = await call('POST', '/api/profile-bulk-import-jobs', profileJob?.body);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(validateResponse(spec, 'POST', '/api/profile-bulk-import-jobs', 429, response.body)).toEqual([]);
      }
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const waits: number[] = [];
    const http = createHttpClient({ sleep: async (ms) => void waits.push(ms), retry: { maxAttempts: 1 } });
    await expect(
      http.request({ operation: 'probe', method: 'POST', url: `${sandbox.url}/api/profile-bulk-import-jobs`, headers, body: JSON.stringify(profileJob?.body) }),
    ).rejects.toSatisfy((e) => e instanceof HttpError && e.rateLimited && (e.retryAfterMs ?? 0) >= 1000);
  });

  it('de-duplicates events on unique_id per profile and metric, and refuses duplicates inside one bulk request', async () => {
    sandbox.reset();
    const [, placed, line] = requestsOf(events[0] as BusinessEvent);
    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/events', placed?.body)).status).toBe(202);
    expect((await call('POST', '/api/events', line?.body)).status).toBe(202);
    expect(sandbox.store.events).toHaveLength(2);
    expect(sandbox.store.duplicatesIgnored).toBe(2);

    const [, eventJob] = requestsOf(events[0] as BusinessEvent, true);
    const job = structuredClone(eventJob?.body) as { data: { attributes: { 'events-bulk-create': { data: { attributes: { events: { data: unknown[] } } }[] } } } };
    const entry = job.data.attributes['events-bulk-create'].data[0];
    entry?.attributes.events.data.push(entry.attributes.events.data[0]);
    const refused = await call('POST', '/api/event-bulk-create-jobs', job);
    expect(refused.status).toBe(400);
    expect(sandbox.store.events).toHaveLength(2);
  });

  it('injects 5xx and timeouts on request, and exposes its state for inspection', async () => {
    sandbox.inject({ kind: 'status', status: 503, times: 1, route: 'createEvent' });
    const [, placed] = requestsOf(events[1] as BusinessEvent);
    const failed = await call('POST', '/api/events', placed?.body);
    expect(failed.status).toBe(503);
    expect(validateResponse(spec, 'POST', '/api/events', 503, failed.body)).toEqual([]);
    await fetch(`${sandbox.url}/__sandbox/faults`, { method: 'POST', body: JSON.stringify({ kind: 'timeout', times: 1 }) });
    const http = createHttpClient({ timeoutMs: 200, retry: { maxAttempts: 1 } });
    await expect(
      http.request({ operation: 'probe', method: 'POST', url: `${sandbox.url}/api/events`, headers, body: JSON.stringify(placed?.body) }),
    ).rejects.toMatchObject({ kind: 'timeout', retryable: true });
    const state = (await (await fetch(`${sandbox.url}/__sandbox/state`)).json()) as { events: unknown[]; requests: unknown[] };
    expect(state.events.length).toBe(sandbox.store.events.length);
    expect(state.requests.length).toBe(sandbox.requests.length);
  });
});

describe('Klaviyo sandbox rules beyond the schema', () => {
  it('refuses an event whose profile has no identifier (the schema allows it, Klaviyo does not)', async () => {
    const sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY] });
    try {
      const [, placed] = klaviyoRequestsFor(events[0] as BusinessEvent, klaviyoConfig({ baseUrl: sandbox.url }));
      const body = structuredClone(placed?.body) as { data: { attributes: { profile: { data: { attributes: Record<string, unknown> } } } } };
      body.data.attributes.profile.data.attributes = {};
      const response = await fetch(`${sandbox.url}/api/events`, {
        method: 'POST',
        headers: { Authorization: `Klaviyo-API-Key ${KLAVIYO_TEST_KEY}`, revision: '2026-07-15' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(400);
    } finally {
      await sandbox.close();
    }
  });
});
