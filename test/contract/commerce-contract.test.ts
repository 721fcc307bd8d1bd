/**
 * The commerce loop against Mirakl's seller OpenAPI: every request our client sends for OR21, OR23, OR24, ST01,
 * SH21, STO01–STO03 and OF21 is one the document declares (path, parameters, body), and every answer of the
 * sandbox for those operations validates against the documented response.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dispatchRequests } from '../../functions/shared/commerce/dispatch';
import { sendMiraklRequest } from '../../functions/shared/commerce/miraklRequests';
import { stockFile } from '../../functions/shared/commerce/stock';
import { businessEvent, eventIds } from '../../functions/shared/events';
import { type MiraklClient, createMiraklClient } from '../../functions/shared/mirakl/client';
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';
import { type RecordedRequest, fakeFetch, jsonResponse, textResponse } from '../support/fakeFetch';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';

const SPEC = 'mirakl/mirakl-mmp-seller-openapi.json';
const KEY = 'contract-key';

function queryOf(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(request.url.searchParams);
}

/** The OpenAPI path template a concrete path matches (`/api/orders/X/accept` → `/api/orders/{order_id}/accept`). */
const TEMPLATES = [
  '/api/orders/{order_id}/accept',
  '/api/orders/{order_id}/tracking',
  '/api/orders/{order_id}/ship',
  '/api/shipments',
  '/api/shipping/carriers',
  '/api/offers/stock/imports',
  '/api/offers/stock/imports/{import_id}/status',
  '/api/offers/stock/imports/{import_id}/error_report',
  '/api/offers',
];
function template(path: string): string {
  const found = TEMPLATES.find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
  if (!found) throw new Error(`no template for ${path}`);
  return found;
}

describeWithSpec(SPEC, 'commerce requests against the Mirakl seller OpenAPI', (spec) => {
  /** A Mirakl that answers each operation as documented, recording what was sent. */
  function recordingClient(): { client: MiraklClient; requests: RecordedRequest[] } {
    const fake = fakeFetch((request) => {
      const path = request.url.pathname;
      if (path.endsWith('/accept') || path.endsWith('/tracking') || path.endsWith('/ship')) return new Response(null, { status: 204 });
      if (path === '/api/shipments') return jsonResponse({ shipment_success: [], shipment_errors: [] }, 201);
      if (path === '/api/shipping/carriers') return jsonResponse({ carriers: [{ code: 'UPS', label: 'UPS' }] });
      if (path === '/api/offers/stock/imports') return jsonResponse({ import_id: '42' }, 201);
      if (path.endsWith('/status')) return jsonResponse({ import_id: '42', status: 'COMPLETE', has_error_report: true, date_created: '2026-11-22T10:00:00Z', shop_id: 2043 });
      if (path.endsWith('/error_report')) return textResponse('"line-number";"error-message";"offer-sku";"quantity"\n', 200);
      if (path === '/api/offers') return jsonResponse({ offers: [], total_count: 0 });
      throw new Error(`unexpected ${path}`);
    });
    return { client: createMiraklClient({ baseUrl: 'https://mp.mirakl.test', apiKey: KEY, shopId: 2043, fetch: fake.fetch }), requests: fake.requests };
  }

  it('OR21, OR23, OR24 and ST01 as the connectors send them', async () => {
    const { client, requests } = recordingClient();
    await sendMiraklRequest(client, { operation: 'OR21', orderId: 'DKT-1/A', lines: [{ id: 'DKT-1-1', accepted: true }] });
    const shipment = businessEvent('Shipment Dispatched', {
      schemaVersion: 1,
      eventId: eventIds.shipmentDispatched('decathlon', 'DKT-1', 'S1'),
      marketplace: 'decathlon',
      occurredAt: '2026-11-22T10:00:00Z',
      orderId: 'DKT-1',
      shipmentId: 'S1',
      carrier: 'Colissimo',
      trackingNumber: '6A123',
      trackingUrl: null,
      lines: [{ lineId: 'DKT-1-1', quantity: 1 }],
    }).detail;
    for (const multi of [false, true]) {
      const plan = dispatchRequests(shipment, { code: 'COLISSIMO', standardCode: 'colissimo' }, multi);
      if (!plan.ok) throw new Error(plan.reason);
      for (const request of plan.requests) await sendMiraklRequest(client, request);
    }
    expect(requests.map((r) => `${r.method} ${template(r.url.pathname)}`)).toEqual([
      'PUT /api/orders/{order_id}/accept',
      'PUT /api/orders/{order_id}/tracking',
      'PUT /api/orders/{order_id}/ship',
      'POST /api/shipments',
    ]);
    // The order id is one path segment however odd it is.
    expect(requests[0]?.url.pathname).toBe('/api/orders/DKT-1%2FA/accept');
    for (const request of requests) {
      const body = request.body === undefined ? undefined : JSON.parse(request.body);
      expect(validateRequest(spec, request.method, template(request.url.pathname), { query: queryOf(request), body, headers: { authorization: KEY } })).toEqual([]);
      expect(request.headers.get('authorization')).toBe(KEY);
    }
  });

  it('SH21, STO01–STO03 and OF21', async () => {
    const { client, requests } = recordingClient();
    await client.listCarriers();
    await client.importStock(stockFile([{ offerSku: 'DC-KIP-8547211-43', quantity: 3 }]));
    await client.stockImportStatus('42');
    await client.stockImportErrorReport('42');
    await client.offerQuantities();
    for (const request of requests) {
      // STO01's body is multipart (checked below); the others have none.
      expect(validateRequest(spec, request.method, template(request.url.pathname), { query: queryOf(request) })).toEqual([]);
    }
    // The multipart upload itself is proven against the sandbox, which parses it as Mirakl documents.
    expect(requests.map((r) => `${r.method} ${template(r.url.pathname)}`)).toEqual([
      'GET /api/shipping/carriers',
      'POST /api/offers/stock/imports',
      'GET /api/offers/stock/imports/{import_id}/status',
      'GET /api/offers/stock/imports/{import_id}/error_report',
      'GET /api/offers',
    ]);
  });
});

describeWithSpec(SPEC, 'Mirakl sandbox answers for the commerce operations', (spec) => {
  let sandbox: MiraklSandbox;
  let client: MiraklClient;
  let now = Date.parse('2026-11-22T10:00:00Z');
  const call = async (method: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${sandbox.url}/decathlon${path}`, { method, ...init, headers: { authorization: KEY, ...init.headers } });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : undefined;
    return { status: response.status, json, text, headers: response.headers };
  };

  beforeAll(async () => {
    sandbox = await startMiraklSandbox({ port: 0, marketplaces: [{ id: 'decathlon', apiKey: KEY }], clock: () => new Date(now), autoAccept: false });
    client = createMiraklClient({ baseUrl: `${sandbox.url}/decathlon`, apiKey: KEY });
  });
  afterAll(() => sandbox.close());

  it('OR21, OR23, OR24 answer 204; ST01 201 with its documented lists', async () => {
    const order = sandbox.world.createOrder('decathlon', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DC-QUE-8493322', quantity: 1 }] });
    const id = order.order_id;
    const json = { 'content-type': 'application/json' };
    const accept = await call('PUT', `/api/orders/${id}/accept`, { headers: json, body: JSON.stringify({ order_lines: [{ id: `${id}-1`, accepted: true }] }) });
    expect(accept.status).toBe(204);
    sandbox.world.debit('decathlon', id);
    expect((await call('PUT', `/api/orders/${id}/tracking`, { headers: json, body: JSON.stringify({ carrier_code: 'COLISSIMO', tracking_number: '6A1' }) })).status).toBe(204);
    expect((await call('PUT', `/api/orders/${id}/ship`)).status).toBe(204);
    const shipments = await call('POST', '/api/shipments', {
      headers: json,
      body: JSON.stringify({ shipments: [{ order_id: id, shipment_lines: [{ order_line_id: `${id}-1`, quantity: 1 }], shipped: true }] }),
    });
    expect(shipments.status).toBe(201);
    expect(validateResponse(spec, 'POST', '/api/shipments', 201, shipments.json)).toEqual([]);
    expect(shipments.json.shipment_errors[0].message).toBe("The order status must be 'SHIPPING' but it is 'SHIPPED'.");
  });

  it('OR21 errors carry Mirakl\'s documented codes', async () => {
    const order = sandbox.world.createOrder('decathlon', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DC-QUE-8493322', quantity: 1 }, { offerSku: 'DC-TRI-8559901', quantity: 1 }] });
    const id = order.order_id;
    const put = (body: unknown) => call('PUT', `/api/orders/${id}/accept`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put({ order_lines: [{ id: `${id}-1`, accepted: true }] })).text).toContain('ORDER_LINE_ACCEPTANCE_DECISION_MISSING');
    expect((await put({ order_lines: [{ id: `${id}-1`, accepted: true }, { id: `${id}-1`, accepted: true }] })).text).toContain('ORDER_LINE_DUPLICATE_ID');
    expect((await put({ order_lines: [null] })).text).toContain('ORDER_LINE_NULL_ELEMENT');
    expect((await put({ order_lines: [{ id: `${id}-9`, accepted: true }] })).text).toContain('ORDER_LINE_NOT_FOUND');
    expect((await call('PUT', '/api/orders/NOPE/accept', { headers: { 'content-type': 'application/json' }, body: '{"order_lines":[]}' })).status).toBe(404);
  });

  it('SH21 lists carriers sorted by label', async () => {
    const response = await call('GET', '/api/shipping/carriers');
    expect(validateResponse(spec, 'GET', '/api/shipping/carriers', 200, response.json)).toEqual([]);
    const labels = response.json.carriers.map((c: { label: string }) => c.label);
    expect(labels).toEqual([...labels].sort((a: string, b: string) => a.localeCompare(b)));
  });

  it('STO01 → STO02 WAITING, RUNNING, COMPLETE → STO03 reports the unknown SKU; OF21 shows the new quantity', async () => {
    const importId = await client.importStock(
      stockFile([
        { offerSku: 'DC-KIP-8547211-43', quantity: 4 },
        { offerSku: 'NOT-AN-OFFER', quantity: 2 },
      ]),
    );
    const statuses: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await call('GET', `/api/offers/stock/imports/${importId}/status`);
      expect(validateResponse(spec, 'GET', '/api/offers/stock/imports/{import_id}/status', 200, response.json)).toEqual([]);
      statuses.push(response.json.status);
      now += 5_000;
    }
    expect(statuses).toEqual(['WAITING', 'RUNNING', 'COMPLETE']);
    const report = await call('GET', `/api/offers/stock/imports/${importId}/error_report`);
    expect(report.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(report.text).toContain('"3";"The offer does not exist";"NOT-AN-OFFER";"2"');
    const offers = await call('GET', '/api/offers?max=100');
    expect(validateResponse(spec, 'GET', '/api/offers', 200, offers.json)).toEqual([]);
    expect((await client.offerQuantities()).find((o) => o.shopSku === 'DC-KIP-8547211-43')?.quantity).toBe(4);
  });

  it('STO01 refuses a file without the documented columns, and a non-multipart body', async () => {
    const form = new FormData();
    form.append('file', new Blob(['"sku";"qty"\n"A";"1"\n']), 'stock.csv');
    expect((await call('POST', '/api/offers/stock/imports', { body: form })).status).toBe(400);
    expect((await call('POST', '/api/offers/stock/imports', { headers: { 'content-type': 'text/csv' }, body: 'x' })).status).toBe(400);
    const good = new FormData();
    good.append('file', new Blob([stockFile([])]), 'stock.csv');
    const created = await call('POST', '/api/offers/stock/imports', { body: good });
    expect(created.status).toBe(201);
    expect(validateResponse(spec, 'POST', '/api/offers/stock/imports', 201, created.json)).toEqual([]);
    expect(created.headers.get('location')).toContain(`/api/offers/stock/imports/${created.json.import_id}/status`);
  });
});
