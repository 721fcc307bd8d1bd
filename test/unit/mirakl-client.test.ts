import { describe, expect, it } from 'vitest';
import { HttpError } from '../../functions/shared/http';
import { type MiraklClientOptions, createMiraklClient } from '../../functions/shared/mirakl/client';
import { type FetchStep, type RecordedRequest, fakeFetch, jsonResponse, textResponse } from '../support/fakeFetch';

function setup(steps: FetchStep[] | ((request: RecordedRequest, index: number) => FetchStep), options: Partial<MiraklClientOptions> = {}) {
  const fake = fakeFetch(steps);
  const client = createMiraklClient({
    baseUrl: 'https://debenhams.mirakl.test',
    apiKey: 'shop-key-123',
    fetch: fake.fetch,
    sleep: async () => undefined,
    ...options,
  });
  return { client, requests: fake.requests };
}

const order = (id: string) => ({ order_id: id });
const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => `O-${from + i}`);

describe('Mirakl client: requests', () => {
  it('sends the bare API key, Accept JSON and shop_id when configured', async () => {
    const { client, requests } = setup([jsonResponse({ orders: [], total_count: 0 })], { shopId: 2010 });
    await client.listOrders();
    const [request] = requests;
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/api/orders');
    expect(request?.headers.get('authorization')).toBe('shop-key-123');
    expect(request?.headers.get('accept')).toBe('application/json');
    expect(request?.url.searchParams.get('shop_id')).toBe('2010');
  });

  it('omits shop_id when not configured and keeps a base URL path prefix', async () => {
    const { client, requests } = setup([jsonResponse({ orders: [] })], { baseUrl: 'http://127.0.0.1:4010/mirakl/debenhams' });
    await client.listOrders();
    expect(requests[0]?.url.pathname).toBe('/mirakl/debenhams/api/orders');
    expect(requests[0]?.url.searchParams.has('shop_id')).toBe(false);
  });

  it('serialises OR11 filters: UTC ISO-8601 dates URL-encoded, comma lists, sort and paging', async () => {
    const { client, requests } = setup([jsonResponse({ orders: [] })]);
    await client.listOrders({
      startUpdateDate: new Date('2026-03-14T09:12:44.5+02:00'),
      endUpdateDate: new Date('2026-03-14T10:00:00Z'),
      startDate: new Date('2026-03-01T00:00:00Z'),
      endDate: new Date('2026-03-02T00:00:00Z'),
      orderIds: ['A-1', 'B-2'],
      orderStateCodes: ['SHIPPING', 'SHIPPED'],
      max: 50,
      offset: 100,
    });
    const url = requests[0]!.url;
    expect(Object.fromEntries(url.searchParams)).toEqual({
      start_update_date: '2026-03-14T07:12:44.500Z',
      end_update_date: '2026-03-14T10:00:00.000Z',
      start_date: '2026-03-01T00:00:00.000Z',
      end_date: '2026-03-02T00:00:00.000Z',
      order_ids: 'A-1,B-2',
      order_state_codes: 'SHIPPING,SHIPPED',
      sort: 'dateCreated',
      order: 'asc',
      max: '50',
      offset: '100',
    });
    expect(url.search).toContain('start_update_date=2026-03-14T07%3A12%3A44.500Z');
  });

  it.each([
    [{ orderIds: [] }, /orderIds must not be empty/],
    [{ orderIds: ids(0, 101) }, /at most 100/],
    [{ orderIds: ['A,B'] }, /no comma/],
    [{ max: 101 }, /max must be an integer from 1 to 100/],
    [{ max: 0 }, /max must be/],
    [{ offset: -1 }, /offset must be/],
    [{ startUpdateDate: new Date('nope') }, /startUpdateDate is not a valid date/],
  ])('refuses a query that would mean something else: %o', async (query, message) => {
    const { client, requests } = setup([]);
    await expect(client.listOrders(query)).rejects.toThrow(message);
    expect(requests).toHaveLength(0);
  });
});

describe('Mirakl client: responses', () => {
  it('keeps orders raw so one malformed order never fails the page', async () => {
    const { client } = setup([jsonResponse({ orders: [order('A'), { nonsense: true }, null], total_count: 3 })]);
    const page = await client.listOrders();
    expect(page.orders).toEqual([order('A'), { nonsense: true }, null]);
    expect(page.total_count).toBe(3);
  });

  it('a page that is not {orders:[…]} is a permanent error naming OR11, without the body in the message', async () => {
    const { client } = setup([jsonResponse({ message: 'jane@example.com', orders: 'nope' })]);
    const error = (await client.listOrders().catch((e: unknown) => e)) as HttpError;
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ operation: 'OR11', kind: 'invalid-response', status: 200, retryable: false });
    expect(error.message).toMatch(/^OR11 failed, unexpected response \(HTTP 200\): expected \{"orders":\[…\]\}; orders: /);
    expect(error.message).not.toContain('jane');
  });

  it('HTTP errors carry the operation name', async () => {
    const { client } = setup([textResponse('{"status":401,"message":"Unauthorized"}', 401)]);
    await expect(client.listOrders()).rejects.toMatchObject({ operation: 'OR11', status: 401, retryable: false });
  });

  it('retries 429 with Retry-After through the shared HTTP layer', async () => {
    const sleeps: number[] = [];
    const { client, requests } = setup([textResponse('', 429, { 'retry-after': '2' }), jsonResponse({ orders: [order('A')] })], {
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect((await client.listOrders()).orders).toHaveLength(1);
    expect(requests).toHaveLength(2);
    expect(sleeps).toEqual([2_000]);
  });
});

describe('Mirakl client: paging', () => {
  const pages = (total: number, reportTotal = true) => (request: RecordedRequest) => {
    const offset = Number(request.url.searchParams.get('offset'));
    const max = Number(request.url.searchParams.get('max'));
    const body = { orders: ids(offset, Math.max(0, Math.min(max, total - offset))).map(order), ...(reportTotal ? { total_count: total } : {}) };
    return jsonResponse(body);
  };

  async function collect(iterable: AsyncIterable<{ orders: unknown[] }>) {
    const seen: unknown[][] = [];
    for await (const page of iterable) seen.push(page.orders);
    return seen;
  }

  it('walks offset pages of 100 with the same filters until total_count', async () => {
    const { client, requests } = setup(pages(250));
    const since = new Date('2026-03-14T09:00:00Z');
    const seen = await collect(client.pageOrders({ startUpdateDate: since }));
    expect(seen.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(requests.map((r) => [r.url.searchParams.get('offset'), r.url.searchParams.get('max')])).toEqual([
      ['0', '100'],
      ['100', '100'],
      ['200', '100'],
    ]);
    expect(new Set(requests.map((r) => r.url.searchParams.get('start_update_date')))).toEqual(new Set([since.toISOString()]));
  });

  it('stops at offset ≥ total_count without an extra empty call when the total is a multiple of 100', async () => {
    const { client, requests } = setup(pages(200));
    expect((await collect(client.pageOrders())).map((p) => p.length)).toEqual([100, 100]);
    expect(requests).toHaveLength(2);
  });

  it('stops on a short page when total_count is absent', async () => {
    const { client, requests } = setup(pages(130, false));
    expect((await collect(client.pageOrders())).map((p) => p.length)).toEqual([100, 30]);
    expect(requests).toHaveLength(2);
  });

  it('an empty result is one call', async () => {
    const { client, requests } = setup(pages(0));
    expect(await collect(client.pageOrders())).toEqual([[]]);
    expect(requests).toHaveLength(1);
  });

  it('a failure mid-pagination surfaces after the pages already yielded', async () => {
    const { client } = setup((request, index) => (index === 1 ? textResponse('', 400) : pages(300)(request)));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const page of client.pageOrders()) seen.push(page.orders.length);
      })(),
    ).rejects.toMatchObject({ operation: 'OR11', status: 400 });
    expect(seen).toEqual([100]);
  });
});

describe('Mirakl client: ordersByIds', () => {
  it('chunks order_ids by 100 and de-duplicates', async () => {
    const { client, requests } = setup((request) => {
      const wanted = request.url.searchParams.get('order_ids')!.split(',');
      return jsonResponse({ orders: wanted.map(order), total_count: wanted.length });
    });
    const wanted = [...ids(0, 230), 'O-5'];
    const orders = await client.ordersByIds(wanted);
    expect(orders).toHaveLength(230);
    expect(requests.map((r) => r.url.searchParams.get('order_ids')!.split(',').length)).toEqual([100, 100, 30]);
    expect(requests.every((r) => r.url.searchParams.get('max') === '100')).toBe(true);
  });

  it('no ids, no call', async () => {
    const { client, requests } = setup([]);
    expect(await client.ordersByIds([])).toEqual([]);
    expect(requests).toHaveLength(0);
  });
});
