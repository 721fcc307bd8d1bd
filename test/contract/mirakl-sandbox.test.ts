/**
 * The Mirakl sandbox must answer exactly what the vendor document allows: every order it serves validates against
 * the OR11 200 schema of the seller OpenAPI, and it rejects what Mirakl rejects.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sandboxConfig } from '../../functions/shared/config';
import { readOrder } from '../../functions/shared/mirakl/orders';
import { isAnonymisedBuyer } from '../../functions/shared/privacy/erasure';
import { startMiraklSandbox, type MiraklSandbox } from '../../local/sandboxes/mirakl';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';

const SPEC = 'mirakl/mirakl-mmp-seller-openapi.json';
const KEY = (id: string) => `sandbox-key-${id}`;

interface Page {
  status: number;
  body: { orders: Record<string, unknown>[]; total_count: number } & Record<string, unknown>;
  headers: Headers;
}

describeWithSpec(SPEC, 'Mirakl sandbox against the Mirakl seller OpenAPI', (spec) => {
  let sandbox: MiraklSandbox;
  let now = Date.parse('2026-11-20T12:00:00Z');

  beforeAll(async () => {
    sandbox = await startMiraklSandbox({
      port: 0,
      seed: 20261120,
      clock: () => new Date(now),
      marketplaces: sandboxConfig.marketplaces.map((mp) => ({ id: mp.id, apiKey: KEY(mp.id), shopId: mp.shopId })),
    });
  });
  afterAll(() => sandbox.close());

  async function get(mp: string, query: Record<string, string>, auth: string | null = KEY(mp)): Promise<Page> {
    const url = new URL(`${sandbox.url}/${mp}/api/orders`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const response = await fetch(url, { headers: auth === null ? {} : { Authorization: auth } });
    return { status: response.status, body: (await response.json()) as Page['body'], headers: response.headers };
  }

  async function everyOrder(mp: string, max: number): Promise<Record<string, unknown>[]> {
    const orders: Record<string, unknown>[] = [];
    for (let offset = 0; ; offset += max) {
      const query = { max: String(max), offset: String(offset), sort: 'dateCreated' };
      expect(validateRequest(spec, 'GET', '/api/orders', { query })).toEqual([]);
      const page = await get(mp, query);
      expect(page.status).toBe(200);
      expect(validateResponse(spec, 'GET', '/api/orders', 200, page.body)).toEqual([]);
      orders.push(...page.body.orders);
      if (offset + max >= page.body.total_count) return orders;
    }
  }

  function expectReadable(orders: Record<string, unknown>[]) {
    for (const order of orders) {
      const reading = readOrder(order);
      expect(reading.ok ? [] : reading.problems, String(order.order_id)).toEqual([]);
    }
  }

  it('serves a seeded history whose every order validates against OR11 200 and reads with readOrder', async () => {
    for (const mp of sandboxConfig.marketplaces) {
      const orders = await everyOrder(mp.id, 100);
      expect(orders.length).toBeGreaterThanOrEqual(20);
      expectReadable(orders);
    }
  });

  it('would notice an order missing a deprecated but required field', async () => {
    const [order] = (await get('debenhams', { max: '1' })).body.orders;
    const broken = structuredClone(order) as { order_lines: Record<string, unknown>[]; paymentType?: string };
    delete broken.paymentType;
    delete broken.order_lines[0]!.commission_vat;
    const errors = validateResponse(spec, 'GET', '/api/orders', 200, { orders: [broken], total_count: 1 });
    expect(errors).toEqual(
      expect.arrayContaining([
        "response/orders/0 must have required property 'paymentType'",
        "response/orders/0/order_lines/0 must have required property 'commission_vat'",
      ]),
    );
  });

  it('still validates after 50 ticks of marketplace life', async () => {
    for (let i = 0; i < 50; i += 1) {
      now += 5 * 60_000;
      sandbox.world.tick();
    }
    for (const mp of sandboxConfig.marketplaces) {
      const orders = await everyOrder(mp.id, 100);
      expect(orders.length).toBeGreaterThan(30);
      expectReadable(orders);
    }
  });

  it('serves the orders of a buyer the operator anonymised still valid, read as anonymised, others untouched', async () => {
    const before = await everyOrder('debenhams', 100);
    const customerOf = (o: Record<string, unknown>) => (o.customer as { customer_id: string }).customer_id;
    const buyer = customerOf(before[0]!);
    now += 60_000;
    const touched = sandbox.world.anonymiseBuyer('debenhams', buyer);
    const after = await everyOrder('debenhams', 100);
    const theirs = after.filter((o) => customerOf(o) === buyer);
    expect(theirs.map((o) => o.order_id).sort()).toEqual([...touched].sort());
    expectReadable(after);
    for (const order of after) {
      expect(isAnonymisedBuyer(order), String(order.order_id)).toBe(customerOf(order) === buyer);
      if (customerOf(order) === buyer) expect(order.last_updated_date).toBe(new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
  });

  it('validates pages at several offsets, which together are the whole list', async () => {
    const whole = await everyOrder('decathlon', 100);
    const paged = await everyOrder('decathlon', 7);
    expect(paged.map((o) => o.order_id)).toEqual(whole.map((o) => o.order_id));
    const filtered = { order_state_codes: 'SHIPPING,SHIPPED,RECEIVED', max: '3', offset: '3', order: 'desc' };
    expect(validateRequest(spec, 'GET', '/api/orders', { query: filtered })).toEqual([]);
    const page = await get('debenhams', filtered);
    expect(page.status).toBe(200);
    expect(validateResponse(spec, 'GET', '/api/orders', 200, page.body)).toEqual([]);
  });

  it('accepts a valid value for every OR11 parameter the document declares', async () => {
    const operation = (spec.doc.paths as Record<string, Record<string, { parameters: unknown[] }>>)['/api/orders']!.get!;
    const parameters = operation.parameters as { name: string; schema: { type: string; format?: string; enum?: string[] } }[];
    expect(parameters.length).toBeGreaterThan(10);
    for (const { name, schema } of parameters) {
      const value =
        name === 'shop_id'
          ? '2043'
          : schema.enum?.[0] ??
            (schema.type === 'boolean' ? 'false' : schema.format === 'date-time' ? '2026-11-19T00:00:00Z' : 'X');
      const query = { [name]: value };
      expect(validateRequest(spec, 'GET', '/api/orders', { query }), name).toEqual([]);
      const page = await get('decathlon', query);
      expect(page.status, `${name}=${value}: ${JSON.stringify(page.body)}`).toBe(200);
      expect(validateResponse(spec, 'GET', '/api/orders', 200, page.body)).toEqual([]);
    }
  });

  it('rejects what Mirakl rejects', async () => {
    expect((await get('debenhams', {}, null)).status).toBe(401);
    expect((await get('debenhams', {}, `Bearer ${KEY('debenhams')}`)).status).toBe(401);
    expect((await get('debenhams', {}, KEY('decathlon'))).status).toBe(401);

    const tooMany = await get('debenhams', { max: '101' });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ status: 400, message: expect.stringContaining('max') });
    expect(validateRequest(spec, 'GET', '/api/orders', { query: { max: '101' } })).not.toEqual([]);

    const badDate = await get('debenhams', { start_update_date: 'yesterday' });
    expect(badDate.status).toBe(400);
    expect(badDate.body).toMatchObject({ status: 400, message: expect.stringContaining('start_update_date') });
    expect(validateRequest(spec, 'GET', '/api/orders', { query: { start_update_date: 'yesterday' } })).not.toEqual([]);

    const ids = Array.from({ length: 101 }, (_, i) => `X-${i}-A`).join(',');
    expect((await get('debenhams', { order_ids: ids })).status).toBe(400);
    expect((await get('debenhams', { order_state_codes: 'SHIPPING,TELEPORTED' })).status).toBe(400);
  });
});
