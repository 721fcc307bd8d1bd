/**
 * The asynchronous export a history load uses, against the Mirakl seller OpenAPI: what the client sends to OR13,
 * what the sandbox answers on OR13/OR14/OR15, and the sandbox refusing what Mirakl documents it refuses (a second
 * export while one runs, no date window, a chunk size out of bounds, someone else's export).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMiraklClient } from '../../functions/shared/mirakl/client';
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';

const SPEC = 'mirakl/mirakl-mmp-seller-openapi.json';
const OR15_PATH = '/dynamic-url/The+URL+is+retrieved+from+OR14+output/OR15';

describeWithSpec(SPEC, 'Mirakl asynchronous order export (OR13 → OR14 → OR15)', (spec) => {
  let sandbox: MiraklSandbox;
  beforeAll(async () => {
    sandbox = await startMiraklSandbox({
      port: 0,
      seed: 7,
      marketplaces: [
        { id: 'debenhams', apiKey: 'key-d' },
        { id: 'decathlon', apiKey: 'key-x' },
      ],
      exports: { maxOrdersPerFile: 10 },
    });
  });
  afterAll(() => sandbox.close());

  const call = async (mp: string, method: string, path: string, body?: unknown, key = mp === 'debenhams' ? 'key-d' : 'key-x') => {
    const response = await fetch(path.startsWith('http') ? path : `${sandbox.url}/${mp}${path}`, {
      method,
      headers: { Authorization: key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('the client sends a documented OR13 body and the sandbox answers OR13, OR14 and OR15 as documented', async () => {
    const sent: unknown[] = [];
    const recording: typeof fetch = async (input, init) => {
      if (init?.method === 'POST') sent.push(JSON.parse(String(init.body)));
      return fetch(input, init);
    };
    const client = createMiraklClient({ baseUrl: `${sandbox.url}/debenhams`, apiKey: 'key-d', fetch: recording });
    const trackingId = await client.createOrderExport({
      startDate: new Date('2026-01-01T00:00:00Z'),
      endDate: new Date('2027-01-01T00:00:00Z'),
      itemsPerChunk: 10_000,
    });
    expect(validateRequest(spec, 'POST', '/api/orders/async-export', { body: sent[0] })).toEqual([]);

    const pending = await call('debenhams', 'GET', `/api/orders/async-export/status/${trackingId}`);
    expect(pending.body.status).toBe('PENDING');
    expect(validateResponse(spec, 'GET', '/api/orders/async-export/status/{tracking_id}', 200, pending.body)).toEqual([]);
    const completed = await call('debenhams', 'GET', `/api/orders/async-export/status/${trackingId}`);
    expect(completed.body.status).toBe('COMPLETED');
    expect(validateResponse(spec, 'GET', '/api/orders/async-export/status/{tracking_id}', 200, completed.body)).toEqual([]);
    expect(completed.body.urls.length).toBeGreaterThan(1);

    const file = await call('debenhams', 'GET', completed.body.urls[0]);
    expect(file.status).toBe(200);
    expect(file.body.orders).toHaveLength(10);
    expect(validateResponse(spec, 'GET', OR15_PATH, 200, file.body)).toEqual([]);
    // Every exported order is an OR11 order, valid as OR11 documents it.
    expect(validateResponse(spec, 'GET', '/api/orders', 200, { orders: file.body.orders, total_count: 10 })).toEqual([]);
    expect(await client.orderExportFile(completed.body.urls[1])).toHaveLength(10);
  });

  it('refuses what Mirakl refuses', async () => {
    const window = { start_date: '2026-01-01T00:00:00Z', end_date: '2027-01-01T00:00:00Z' };
    const first = await call('decathlon', 'POST', '/api/orders/async-export', window);
    expect(first.status).toBe(200);
    expect(validateResponse(spec, 'POST', '/api/orders/async-export', 200, first.body)).toEqual([]);
    // "Only one export request can be created for the same shop account."
    expect((await call('decathlon', 'POST', '/api/orders/async-export', window)).status).toBe(400);
    await call('decathlon', 'GET', `/api/orders/async-export/status/${first.body.tracking_id}`);
    await call('decathlon', 'GET', `/api/orders/async-export/status/${first.body.tracking_id}`);
    expect((await call('decathlon', 'POST', '/api/orders/async-export', { start_date: window.start_date })).status).toBe(400);
    expect((await call('decathlon', 'POST', '/api/orders/async-export', { ...window, items_per_chunk: 500 })).status).toBe(400);
    // Another shop's export is not found; without the key, nothing is.
    expect((await call('debenhams', 'GET', `/api/orders/async-export/status/${first.body.tracking_id}`)).status).toBe(404);
    expect((await call('decathlon', 'GET', `/api/orders/async-export/status/${first.body.tracking_id}`, undefined, 'wrong')).status).toBe(401);
  });
});
