import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMiraklSandbox, UPDATE_DATE_DELTA_MS, type MiraklSandbox } from '../../local/sandboxes/mirakl';

const START = Date.parse('2026-11-20T12:00:00Z');
const KEYS = { debenhams: 'deb-secret-key', decathlon: 'dec-secret-key' };

let sandbox: MiraklSandbox;
let now = START;

beforeEach(async () => {
  now = START;
  sandbox = await startMiraklSandbox({
    port: 0,
    clock: () => new Date(now),
    marketplaces: [
      { id: 'debenhams', apiKey: KEYS.debenhams },
      { id: 'decathlon', apiKey: KEYS.decathlon, shopId: 2043 },
    ],
  });
});
afterEach(() => sandbox.close());

async function call(path: string, init: { method?: string; key?: string | null } = {}) {
  const mp = path.split('/')[1] as keyof typeof KEYS;
  const key = init.key === undefined ? KEYS[mp] : init.key;
  const response = await fetch(`${sandbox.url}${path}`, {
    method: init.method ?? 'GET',
    headers: key === null ? {} : { Authorization: key },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Proxy-style error pages are HTML.
  }
  return { status: response.status, headers: response.headers, body: body as { orders: { order_id: string }[]; total_count: number } };
}

/** Creates n orders one minute apart, in creation order. */
function createOrders(mp: 'debenhams' | 'decathlon', n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    now += 60_000;
    ids.push(sandbox.world.createOrder(mp).order_id);
  }
  return ids;
}

/** A client that gives up after `ms`, as the HTTP layer's timeout does. */
async function fetchWithin(ms: number, request: () => Promise<Response>): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  try {
    return await Promise.race([request(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('OR11 paging', () => {
  it('pages by offset with total_count, 10 by default, sorted by creation date then id, and Link headers', async () => {
    const ids = createOrders('debenhams', 25);
    const first = await call('/debenhams/api/orders');
    expect(first.status).toBe(200);
    expect(first.body.total_count).toBe(25);
    expect(first.body.orders.map((o) => o.order_id)).toEqual(ids.slice(0, 10));
    expect(first.headers.get('link')).toContain('rel="next"');
    expect(first.headers.get('link')).not.toContain('rel="previous"');

    const last = await call('/debenhams/api/orders?max=10&offset=20');
    expect(last.body.orders.map((o) => o.order_id)).toEqual(ids.slice(20));
    expect(last.body.total_count).toBe(25);
    expect(last.headers.get('link')).toContain('offset=10');
    expect(last.headers.get('link')).not.toContain('rel="next"');

    const beyond = await call('/debenhams/api/orders?offset=40');
    expect(beyond.body).toEqual({ orders: [], total_count: 25 });

    const desc = await call('/debenhams/api/orders?max=3&sort=dateCreated&order=desc');
    expect(desc.body.orders.map((o) => o.order_id)).toEqual(ids.slice(-3).reverse());
  });

  it('keeps marketplaces apart', async () => {
    createOrders('debenhams', 2);
    createOrders('decathlon', 3);
    expect((await call('/debenhams/api/orders')).body.total_count).toBe(2);
    expect((await call('/decathlon/api/orders')).body.total_count).toBe(3);
  });

  it('rejects max over 100, non-integers and negative offsets with a Mirakl JSON error', async () => {
    for (const query of ['max=101', 'max=0', 'max=ten', 'max=1.5', 'offset=-1']) {
      const response = await call(`/debenhams/api/orders?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body).toMatchObject({ status: 400, message: expect.any(String) });
    }
    expect((await call('/debenhams/api/orders?max=100')).status).toBe(200);
  });
});

describe('OR11 filters', () => {
  it('subtracts a delta from start_update_date, so clients see overlapping re-deliveries', async () => {
    const [older, newer] = createOrders('debenhams', 2) as [string, string];
    const updatedAt = (id: string) => sandbox.world.get('debenhams', id)!.last_updated_date;
    const cursor = new Date(Date.parse(updatedAt(newer)) + UPDATE_DATE_DELTA_MS / 2).toISOString();
    const overlap = await call(`/debenhams/api/orders?start_update_date=${encodeURIComponent(cursor)}`);
    expect(overlap.body.orders.map((o) => o.order_id)).toEqual([newer]);

    now += 10 * 60_000;
    sandbox.world.accept('debenhams', older);
    const later = new Date(now - UPDATE_DATE_DELTA_MS * 2).toISOString();
    const next = await call(`/debenhams/api/orders?start_update_date=${encodeURIComponent(later)}`);
    expect(next.body.orders.map((o) => o.order_id)).toEqual([older]);
  });

  it('accepts offsets in dates and refuses unparseable or unencoded ones', async () => {
    createOrders('debenhams', 1);
    const encoded = encodeURIComponent('2026-11-20T13:00:00+02:00');
    expect((await call(`/debenhams/api/orders?start_update_date=${encoded}`)).body.total_count).toBe(1);
    // An unencoded "+" decodes to a space: Mirakl asks for URL-encoded dates.
    const raw = await call('/debenhams/api/orders?start_update_date=2026-11-20T13:00:00+02:00');
    expect(raw.status).toBe(400);
    expect(raw.body).toMatchObject({ status: 400, message: expect.stringContaining('start_update_date') });
    expect((await call('/debenhams/api/orders?end_date=2026-13-45T99:00:00Z')).status).toBe(400);
    expect((await call('/debenhams/api/orders?start_date=1700000000')).status).toBe(400);
  });

  it('filters by ids, states, dates, debit, incidents and channels', async () => {
    const [a, b, c] = createOrders('debenhams', 3) as [string, string, string];
    const world = sandbox.world;
    world.accept('debenhams', b);
    world.debit('debenhams', b);
    world.ship('debenhams', b);
    world.openIncident('debenhams', b, world.get('debenhams', b)!.order_lines[0]!.order_line_id);
    const ids = async (query: string) => (await call(`/debenhams/api/orders?${query}`)).body.orders.map((o) => o.order_id);

    expect(await ids(`order_ids=${a},${c}`)).toEqual([a, c]);
    expect(await ids('order_state_codes=SHIPPED')).toEqual([b]);
    expect(await ids('order_state_codes=WAITING_ACCEPTANCE,SHIPPED')).toEqual([a, b, c]);
    expect(await ids('customer_debited=true')).toEqual([b]);
    expect(await ids('customer_debited=false')).toEqual([a, c]);
    expect(await ids('has_incident=true')).toEqual([b]);
    const created = world.get('debenhams', b)!.created_date;
    expect(await ids(`start_date=${created}&end_date=${created}`)).toEqual([b]);
    const channel = world.get('debenhams', a)!.channel!.code;
    const withChannel = [a, b, c].filter((id) => world.get('debenhams', id)!.channel?.code === channel);
    expect(await ids(`channel_codes=${channel}`)).toEqual(withChannel);
    expect((await call('/debenhams/api/orders?has_incident=maybe')).status).toBe(400);
    expect((await call('/debenhams/api/orders?sort=price')).status).toBe(400);
  });

  it('refuses more than 100 order ids', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `DEB-${i}-A`).join(',');
    const response = await call(`/debenhams/api/orders?order_ids=${ids}`);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ message: expect.stringContaining('order_ids') });
  });
});

describe('authentication and routing', () => {
  it('wants the bare API key in Authorization', async () => {
    expect((await call('/debenhams/api/orders', { key: null })).status).toBe(401);
    expect((await call('/debenhams/api/orders', { key: `Bearer ${KEYS.debenhams}` })).status).toBe(401);
    expect((await call('/debenhams/api/orders', { key: KEYS.decathlon })).status).toBe(401);
    expect((await call('/debenhams/api/orders')).status).toBe(200);
  });

  it('answers 403 for another shop, 404 for unknown paths and marketplaces, 405 for wrong methods', async () => {
    expect((await call('/decathlon/api/orders?shop_id=2043')).status).toBe(200);
    expect((await call('/decathlon/api/orders?shop_id=9999')).status).toBe(403);
    expect((await call('/debenhams/api/nothing-here')).status).toBe(404);
    expect((await call('/nowhere/api/orders', { key: 'x' })).status).toBe(404);
    const wrong = await call('/debenhams/api/orders', { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect((await call('/debenhams/api/version')).status).toBe(200);
  });

  it('records requests without the API key', async () => {
    await call('/debenhams/api/orders?max=5&order_state_codes=SHIPPED');
    await call('/decathlon/api/orders', { key: 'wrong' });
    expect(sandbox.requests).toEqual([
      expect.objectContaining({ method: 'GET', marketplace: 'debenhams', operation: 'OR11', path: '/debenhams/api/orders', query: { max: '5', order_state_codes: 'SHIPPED' }, status: 200, at: '2026-11-20T12:00:00.000Z' }),
      expect.objectContaining({ marketplace: 'decathlon', operation: 'OR11', status: 401 }),
    ]);
    const recorded = JSON.stringify(sandbox.requests);
    expect(recorded).not.toContain(KEYS.debenhams);
    expect(recorded).not.toContain('wrong');
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After seconds for the given number of times', async () => {
    sandbox.faults.inject({ operation: 'OR11', status: 429, retryAfterSeconds: 7, times: 2 });
    for (let i = 0; i < 2; i += 1) {
      const limited = await call('/debenhams/api/orders');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      expect(limited.body).toMatchObject({ status: 429 });
    }
    expect((await call('/debenhams/api/orders')).status).toBe(200);
    expect(sandbox.faults.pending()).toBe(0);
  });

  it('fails one page in the middle of a pagination', async () => {
    createOrders('decathlon', 25);
    sandbox.faults.failPage({ operation: 'OR11', offset: 10, status: 500, times: 1 });
    expect((await call('/decathlon/api/orders?max=10&offset=0')).status).toBe(200);
    const failed = await call('/decathlon/api/orders?max=10&offset=10');
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ status: 500 });
    expect((await call('/decathlon/api/orders?max=10&offset=20')).status).toBe(200);
    expect((await call('/decathlon/api/orders?max=10&offset=10')).status).toBe(200);
  });

  it('answers 502/503 as a proxy would, in HTML', async () => {
    sandbox.faults.inject({ status: 503, retryAfterSeconds: 30, times: 1 });
    sandbox.faults.inject({ status: 502, times: 1 });
    const unavailable = await call('/debenhams/api/orders');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('content-type')).toContain('text/html');
    expect(unavailable.headers.get('retry-after')).toBe('30');
    expect((await call('/debenhams/api/version')).status).toBe(502);
  });

  it('drops the connection, and delays responses', async () => {
    sandbox.faults.resetConnection({ times: 1 });
    await expect(call('/debenhams/api/orders')).rejects.toThrow();
    expect(sandbox.requests.at(-1)).toMatchObject({ operation: 'OR11', status: 0 });
    expect((await call('/debenhams/api/orders')).status).toBe(200);

    sandbox.faults.delay({ ms: 150, times: 1 });
    const started = Date.now();
    expect((await call('/debenhams/api/orders')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('loses or holds the answer of a write it applied (afterEffect): a retry meets the state the first attempt left', async () => {
    const accept = (orderId: string) =>
      fetch(`${sandbox.url}/debenhams/api/orders/${orderId}/accept`, {
        method: 'PUT',
        headers: { Authorization: KEYS.debenhams, 'content-type': 'application/json' },
        body: JSON.stringify({ order_lines: sandbox.world.get('debenhams', orderId)!.order_lines.map((l) => ({ id: l.order_line_id, accepted: true })) }),
      });
    const [lost, late] = [sandbox.world.createOrder('debenhams').order_id, sandbox.world.createOrder('debenhams').order_id];

    sandbox.faults.resetConnection({ operation: 'OR21', times: 1, afterEffect: true });
    await expect(accept(lost)).rejects.toThrow();
    expect(sandbox.world.get('debenhams', lost)?.order_state).toBe('WAITING_DEBIT');
    // Mirakl answered 204; the client never saw it.
    expect(sandbox.requests.at(-1)).toMatchObject({ operation: 'OR21', status: 204 });
    const again = await accept(lost);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('ORDER_INVALID_STATE');

    sandbox.faults.delay({ operation: 'OR21', ms: 300, times: 1, afterEffect: true });
    await expect(fetchWithin(100, () => accept(late))).rejects.toThrow(/timed out/);
    expect(sandbox.world.get('debenhams', late)?.order_state).toBe('WAITING_DEBIT');
    expect(sandbox.faults.pending()).toBe(0);
  });

  it('applies faults only to their operation, and clear() removes them', async () => {
    sandbox.faults.inject({ operation: 'OR11', status: 500, times: 3 });
    expect((await call('/debenhams/api/version')).status).toBe(200);
    expect((await call('/debenhams/api/orders')).status).toBe(500);
    sandbox.faults.clear();
    expect((await call('/debenhams/api/orders')).status).toBe(200);
    expect(() => sandbox.faults.inject({ status: 500, times: 0 })).toThrow();
  });
});

describe('startMiraklSandbox', () => {
  it('listens on loopback and seeds history only when given a seed', async () => {
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.world.orders('debenhams')).toEqual([]);
    const seeded = await startMiraklSandbox({ port: 0, seed: 9, clock: () => new Date(START), marketplaces: [{ id: 'debenhams', apiKey: 'k' }] });
    try {
      expect(seeded.world.orders('debenhams').length).toBeGreaterThanOrEqual(20);
    } finally {
      await seeded.close();
    }
  });

  it('auto-refuses overdue orders before serving OR11', async () => {
    const strict = await startMiraklSandbox({ port: 0, clock: () => new Date(now), acceptanceWindowHours: 1, autoAccept: false, marketplaces: [{ id: 'debenhams', apiKey: 'k' }] });
    try {
      const order = strict.world.createOrder('debenhams');
      now += 61 * 60_000;
      const response = await fetch(`${strict.url}/debenhams/api/orders?order_ids=${order.order_id}`, { headers: { Authorization: 'k' } });
      const body = (await response.json()) as { orders: { order_state: string }[] };
      expect(body.orders[0]!.order_state).toBe('REFUSED');
    } finally {
      await strict.close();
    }
  });
});
