/**
 * Contract with SFCC's OpenAPI documents (SCAPI Orders 1.5.2, SLAS 1.50.0, OCAPI Data 25.6): every request the
 * connector and the inventory reader send validates, our own schemas (which the sandbox enforces) accept the
 * vendor's examples, and the sandbox answers — and refuses — with documented statuses and shapes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { BusinessEvent, DetailOf } from '../../functions/shared/events';
import { createHttpClient } from '../../functions/shared/http';
import { SfccTokens, amScope } from '../../functions/shared/sfcc/auth';
import { createSfccOrdersConnector } from '../../functions/shared/sfcc/connector';
import { createAvailableToSellReader } from '../../functions/shared/sfcc/inventory';
import { plannedRequest, sfccRequestsFor, sfccWritesFor } from '../../functions/shared/sfcc/requests';
import {
  CreateOrderRequestSchema,
  InventoryRecordSchema,
  InventoryRecordsSchema,
  ORGANIZATION_ID,
  OrderSchema,
  SlasTokenResponseSchema,
} from '../../functions/shared/sfcc/scapi';
import { type SfccSandbox, startSfccSandbox } from '../../local/sandboxes/sfcc';
import { checkTotals } from '../../local/sandboxes/sfcc/store';
import { describeWithSpec, specPath, validateRequest, validateResponse } from '../support/openapi';
import { fixedSkuMap, historyConfirmed, productsOf, sandboxSecret, sfccConfig, sfccOrderEvents } from '../support/sfccFixtures';

const ORDERS = 'sfcc/orders-oas-v1-public.yaml';
const AUTH = 'sfcc/auth-oas-v1-public.yaml';
const DATA = 'sfcc/data-api.json';
const config = sfccConfig('https://kv7kzm78.api.commercecloud.salesforce.com');
const sfcc = config.sfcc!;

function wholeOrderCancel(event: BusinessEvent): BusinessEvent {
  const detail = event.detail as DetailOf<'Order Cancelled'>;
  return { ...event, detail: { ...detail, scope: 'order', cancellation: null, amount: detail.order.total } } as BusinessEvent;
}

const events: BusinessEvent[] = [
  ...sfccOrderEvents('debenhams', 'SC1-A'),
  ...sfccOrderEvents('decathlon', 'SC2-A', { lines: 5 }),
];
events.push(wholeOrderCancel(events[2]!));
// A history load's order, already received in Mirakl: created, then export, shipping and order status PUTs.
events.push(historyConfirmed('debenhams', 'SC3-H', 'RECEIVED'));

/** `/organizations/{organizationId}/orders/{orderNo}/status` from a request URL. */
function template(url: string): { path: string; query: Record<string, string>; organizationId: string } {
  const parsed = new URL(url);
  const rest = parsed.pathname.replace(/^\/checkout\/orders\/v1/, '');
  const [, organizationId = '', tail = ''] = /^\/organizations\/([^/]+)\/orders(.*)$/.exec(rest) ?? [];
  const path = `/organizations/{organizationId}/orders${tail.replace(/^\/[^/]+/, '/{orderNo}')}`;
  return { path, query: Object.fromEntries(parsed.searchParams), organizationId };
}

describeWithSpec(ORDERS, 'SFCC order requests validate against SCAPI Orders', (spec) => {
  const requests = events.flatMap((event) => {
    return sfccWritesFor(event, sfcc, { products: productsOf(event) }).map((w) => plannedRequest(w, sfcc));
  });

  it.each(requests.map((r, i) => [i, r.method, template(r.url).path, r] as const))('request %i: %s %s', (_, method, path, request) => {
    const { query, organizationId } = template(request.url);
    expect(validateRequest(spec, method, path, { query, body: request.body })).toEqual([]);
    expect(organizationId).toMatch(ORGANIZATION_ID);
  });

  it('covers createOrders, updateOrder, status, external, export and shipping status', () => {
    expect(new Set(requests.map((r) => `${r.method} ${template(r.url).path}`))).toEqual(
      new Set([
        'POST /organizations/{organizationId}/orders',
        'PATCH /organizations/{organizationId}/orders/{orderNo}',
        'PUT /organizations/{organizationId}/orders/{orderNo}/status',
        'PUT /organizations/{organizationId}/orders/{orderNo}/external-status',
        'PUT /organizations/{organizationId}/orders/{orderNo}/export-status',
        'PUT /organizations/{organizationId}/orders/{orderNo}/shipping-status',
      ]),
    );
  });

  it('our organization id rule and order schema agree with the document', () => {
    const doc = spec.doc as { components: { schemas: Record<string, { pattern?: string; enum?: string[]; maxLength?: number }> } };
    expect(doc.components.schemas.OrganizationId?.pattern).toBe(ORGANIZATION_ID.source);
    expect(doc.components.schemas.OrderNo?.maxLength).toBe(50);
  });

  it('our create-order schema and total check accept every vendor example', () => {
    const raw = parseYaml(readFileSync(specPath(ORDERS), 'utf8'), { maxAliasCount: -1 }) as {
      components: { examples: Record<string, { value: unknown }> };
    };
    for (const name of ['CreateSimpleOrder', 'CreateFullOrder', 'CreateOrderMultiShipment', 'CreateFullPaymentInstrument']) {
      const example = CreateOrderRequestSchema.parse(raw.components.examples[name]?.value);
      expect(() => checkTotals(example), name).not.toThrow();
    }
    expect(OrderSchema.safeParse(raw.components.examples.OrderGet?.value).success).toBe(true);
  });
});

describeWithSpec(AUTH, 'SLAS trusted-system token: request and response', (spec) => {
  let sandbox: SfccSandbox;
  beforeAll(async () => {
    sandbox = await startSfccSandbox();
  });
  afterAll(() => sandbox.close());

  it('the token request the connector sends validates, and the sandbox answers a documented TokenResponse', async () => {
    const local = sfccConfig(sandbox.url);
    const tokens = new SfccTokens({ sfcc: local.sfcc!, http: createHttpClient(), secret: sandboxSecret });
    await tokens.get('slas');
    // The sandbox records a form body as its text.
    const form = Object.fromEntries(new URLSearchParams(sandbox.requests[0]?.body as string));
    const path = '/organizations/{organizationId}/oauth2/trusted-system/token';
    expect(validateRequest(spec, 'POST', path, { body: form })).toEqual([]);
    const response = await fetch(`${sandbox.url}/shopper/auth/v1/organizations/${local.sfcc!.organizationId}/oauth2/trusted-system/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${await sandboxSecret('slasClientId')}:${await sandboxSecret('slasClientSecret')}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form),
    });
    const body = await response.json();
    expect(validateResponse(spec, 'POST', path, 200, body)).toEqual([]);
    expect(SlasTokenResponseSchema.safeParse(body).success).toBe(true);
  });

  it('refuses a wrong client secret with a documented 401 body', async () => {
    const response = await fetch(`${sandbox.url}/shopper/auth/v1/organizations/f_ecom_mkbr_s01/oauth2/trusted-system/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('sandbox-slas-client:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(validateResponse(spec, 'POST', '/organizations/{organizationId}/oauth2/trusted-system/token', 401, await response.json())).toEqual([]);
  });

  it('our SLAS token schema accepts the vendor example', () => {
    const raw = parseYaml(readFileSync(specPath(AUTH), 'utf8'), { maxAliasCount: -1 }) as {
      components: { examples: Record<string, { value: unknown }> };
    };
    expect(SlasTokenResponseSchema.safeParse(raw.components.examples.getTrustedSystemAccessTokenSuccess?.value).success).toBe(true);
  });

  it('Account Manager scope carries the tenant and the orders scope', () => {
    expect(amScope(sfcc)).toBe('SALESFORCE_COMMERCE_API:mkbr_s01 sfcc.orders.rw');
  });
});

describeWithSpec(ORDERS, 'SFCC sandbox answers as SCAPI Orders documents', (spec) => {
  let sandbox: SfccSandbox;
  beforeAll(async () => {
    sandbox = await startSfccSandbox();
  });
  afterAll(() => sandbox.close());

  async function call(method: string, path: string, token: 'am' | 'slas', body?: unknown) {
    const local = sfccConfig(sandbox.url);
    const tokens = new SfccTokens({ sfcc: local.sfcc!, http: createHttpClient(), secret: sandboxSecret });
    const response = await fetch(`${sandbox.url}/checkout/orders/v1/organizations/f_ecom_mkbr_s01${path}`, {
      method,
      headers: { authorization: `Bearer ${await tokens.get(token)}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: response.headers };
  }

  it('connector traffic: every response is documented', async () => {
    const local = sfccConfig(sandbox.url);
    const c = createSfccOrdersConnector({ config: local, http: createHttpClient(), secret: sandboxSecret, skuMap: () => fixedSkuMap() });
    for (const event of events) await c.deliverOne(event);
    await c.deliverOne(events[0]!);
    const orderRoutes = sandbox.requests.filter((r) => r.path.startsWith('/checkout/'));
    expect(orderRoutes.map((r) => r.status)).toContain(201);
    for (const r of orderRoutes) {
      const method = r.route === 'createOrders' ? 'POST' : r.route === 'getOrder' ? 'GET' : r.route === 'updateOrder' ? 'PATCH' : 'PUT';
      const { path } = template(`http://x${r.path}`);
      expect(validateResponse(spec, method, path, r.status, undefined).filter((e) => e.includes('not documented'))).toEqual([]);
    }
  });

  it('getOrder returns a documented Order with the custom attributes', async () => {
    const order = await call('GET', '/orders/debenhams-SC1-A?siteId=RefArch', 'am');
    expect(order.status).toBe(200);
    expect(validateResponse(spec, 'GET', '/organizations/{organizationId}/orders/{orderNo}', 200, order.body)).toEqual([]);
    expect(order.body).toMatchObject({ orderNo: 'debenhams-SC1-A', channelType: 'marketplace', c_miraklOrderId: 'SC1-A' });
  });

  it('refuses a wrong total, an unknown order and a duplicate number with documented errors', async () => {
    const body = sfccRequestsFor(events[0]!, config, { products: productsOf(events[0]!) })[0]!.body as Record<string, unknown>;
    const wrong = await call('POST', '/orders?siteId=RefArch', 'slas', { ...body, orderNo: 'wrong-total', orderTotal: 1 });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ type: expect.stringMatching(/invalid-order-total$/) });
    expect(validateResponse(spec, 'POST', '/organizations/{organizationId}/orders', 400, wrong.body)).toEqual([]);
    const duplicate = await call('POST', '/orders?siteId=RefArch', 'slas', body);
    expect(duplicate.status).toBe(400);
    expect(validateResponse(spec, 'POST', '/organizations/{organizationId}/orders', 400, duplicate.body)).toEqual([]);
    const missing = await call('GET', '/orders/nope?siteId=RefArch', 'am');
    expect(missing.status).toBe(404);
    expect(validateResponse(spec, 'GET', '/organizations/{organizationId}/orders/{orderNo}', 404, missing.body)).toEqual([]);
    const strayShipment = await call('POST', '/orders?siteId=RefArch', 'slas', {
      ...body,
      orderNo: 'stray',
      productItems: (body.productItems as Record<string, unknown>[]).map((i) => ({ ...i, shipmentId: 'elsewhere' })),
    });
    expect(strayShipment.status).toBe(404);
    expect(validateResponse(spec, 'POST', '/organizations/{organizationId}/orders', 404, strayShipment.body)).toEqual([]);
  });

  it('a history order reads back exported, shipped and completed, as a documented Order', async () => {
    const order = await call('GET', '/orders/debenhams-SC3-H?siteId=RefArch', 'am');
    expect(validateResponse(spec, 'GET', '/organizations/{organizationId}/orders/{orderNo}', 200, order.body)).toEqual([]);
    expect(order.body).toMatchObject({ exportStatus: 'exported', shippingStatus: 'shipped', status: 'completed', c_miraklHistoryImport: true });
    const live = await call('GET', '/orders/debenhams-SC1-A?siteId=RefArch', 'am');
    expect(live.body).toMatchObject({ exportStatus: 'not_exported', shippingStatus: 'not_shipped' });
  });

  it('refuses export and shipping statuses the document does not list, and extra properties', async () => {
    for (const [resource, body] of [
      ['export-status', { status: 'done' }],
      ['export-status', { status: 'exported', reason: 'history' }],
      ['shipping-status', { status: 'delivered' }],
      ['shipping-status', {}],
    ] as const) {
      const response = await call('PUT', `/orders/debenhams-SC1-A/${resource}?siteId=RefArch`, 'am', body);
      expect(response.status, `${resource} ${JSON.stringify(body)}`).toBe(400);
      const path = `/organizations/{organizationId}/orders/{orderNo}/${resource}`;
      expect(validateRequest(spec, 'PUT', path, { query: { siteId: 'RefArch' }, body })).not.toEqual([]);
      expect(validateResponse(spec, 'PUT', path, 400, response.body)).toEqual([]);
    }
    expect((await call('PUT', '/orders/debenhams-SC1-A/export-status?siteId=RefArch', 'slas', { status: 'exported' })).status).toBe(401);
  });

  it('createOrders takes only a TSOB token; getOrder only an Account Manager token', async () => {
    expect((await call('POST', '/orders?siteId=RefArch', 'am', {})).status).toBe(401);
    expect((await call('GET', '/orders/debenhams-SC1-A?siteId=RefArch', 'slas')).status).toBe(401);
  });

  it('rejects properties that are neither documented nor custom (c_)', async () => {
    const body = sfccRequestsFor(events[3]!, config, { products: productsOf(events[3]!) })[0]!.body as Record<string, unknown>;
    const response = await call('POST', '/orders?siteId=RefArch', 'slas', { ...body, orderNo: 'extra', miraklOrderId: 'x' });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('miraklOrderId');
  });
});

describeWithSpec(DATA, 'OCAPI inventory records: sandbox responses validate against the Data API document', (spec) => {
  let sandbox: SfccSandbox;
  beforeAll(async () => {
    sandbox = await startSfccSandbox();
    for (let i = 0; i < 30; i++) sandbox.store.setInventory('marketplace-inventory', `P-${i}`, 10 + i, { turnover: 2 });
  });
  afterAll(() => sandbox.close());

  it('single records, list pages and the reader agree with the document', async () => {
    const local = sfccConfig(sandbox.url);
    const reader = createAvailableToSellReader({ sfcc: local.sfcc!, http: createHttpClient(), secret: sandboxSecret });
    await reader.read(['P-1', 'P-2']);
    await reader.read(Array.from({ length: 25 }, (_, i) => `P-${i}`));
    const tokens = new SfccTokens({ sfcc: local.sfcc!, http: createHttpClient(), secret: sandboxSecret });
    const token = await tokens.get('am');
    const base = `${sandbox.url}/s/-/dw/data/v25_6/inventory_lists/marketplace-inventory/product_inventory_records`;
    const one = await (await fetch(`${base}/P-3`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(validateResponse(spec, 'GET', '/inventory_lists/{inventory_list_id}/product_inventory_records/{product_id}', 200, one)).toEqual([]);
    expect(InventoryRecordSchema.parse(one).ats).toBe(11);
    const page = await (await fetch(`${base}?start=0&count=200`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(validateResponse(spec, 'GET', '/inventory_lists/{inventory_list_id}/product_inventory_records', 200, page)).toEqual([]);
    expect(InventoryRecordsSchema.parse(page).total).toBe(30);
    for (const r of sandbox.requests.filter((q) => q.route === 'listInventoryRecords')) {
      const url = new URL(`http://x${r.path}`);
      expect(validateRequest(spec, 'GET', '/inventory_lists/{inventory_list_id}/product_inventory_records', { query: Object.fromEntries(url.searchParams) })).toEqual([]);
    }
  });

  it('a missing record is a 404 fault', async () => {
    const tokens = new SfccTokens({ sfcc: sfccConfig(sandbox.url).sfcc!, http: createHttpClient(), secret: sandboxSecret });
    const response = await fetch(`${sandbox.url}/s/-/dw/data/v25_6/inventory_lists/marketplace-inventory/product_inventory_records/NOPE`, {
      headers: { authorization: `Bearer ${await tokens.get('am')}` },
    });
    expect(response.status).toBe(404);
    const body = await response.json();
    expect(body).toMatchObject({ fault: { type: 'ProductInventoryRecordNotFoundException' } });
    expect(validateResponse(spec, 'GET', '/inventory_lists/{inventory_list_id}/product_inventory_records/{product_id}', 404, body)).toEqual([]);
  });
});

