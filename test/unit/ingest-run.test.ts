import { describe, expect, it } from 'vitest';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { OR11_SLOT_PATIENCE_MS, runIngest } from '../../functions/shared/ingest/ingestRun';
import {
  CollectingExceptions,
  CollectingPublisher,
  MemoryState,
  openGate,
} from '../../functions/shared/ingest/memory';
import type { IngestDependencies, MiraklOrdersSource, OrdersQuery } from '../../functions/shared/ingest/ports';
import { rawOrder } from '../support/miraklOrders';

const debenhams = marketplaceById(sandboxConfig, 'debenhams');
const NOW = new Date('2026-11-22T12:00:00Z');

/** An OR11 source over a mutable list of orders that can fail on a given page, like Mirakl mid-pagination. */
class FakeMirakl implements MiraklOrdersSource {
  queries: OrdersQuery[] = [];
  byIdCalls: string[][] = [];
  failOnPage: number | undefined;
  constructor(public orders: unknown[]) {}
  async *pages(query: OrdersQuery) {
    this.queries.push(query);
    for (let page = 0; page * 100 < this.orders.length; page += 1) {
      if (this.failOnPage === page) throw new Error('OR11 failed: HTTP 500');
      yield this.orders.slice(page * 100, page * 100 + 100);
    }
  }
  async *byIds(ids: readonly string[]) {
    this.byIdCalls.push([...ids]);
    yield this.orders.filter((o) => ids.includes((o as { order_id: string }).order_id));
  }
}

function harness(orders: unknown[]) {
  const state = new MemoryState();
  const publisher = new CollectingPublisher();
  const exceptions = new CollectingExceptions();
  const mirakl = new FakeMirakl(orders);
  const warnings: string[] = [];
  let now = NOW;
  const deps: IngestDependencies = {
    snapshots: state,
    cursors: state,
    pending: state,
    publisher,
    exceptions,
    gate: openGate,
    orders: async () => mirakl,
    log: { info: () => undefined, warn: (m) => warnings.push(m) },
    now: () => now,
  };
  return { deps, state, publisher, exceptions, mirakl, warnings, setNow: (d: Date) => (now = d) };
}

const manyOrders = (n: number) => Array.from({ length: n }, (_, i) => rawOrder(`B${i}-A`));

describe('ingest run', () => {
  it('publishes every new fact across pages, then advances the cursor to the run start', async () => {
    const h = harness(manyOrders(250));
    const report = await runIngest(h.deps, debenhams, 'poll');
    expect(report.pages).toBe(3);
    expect(h.publisher.published).toHaveLength(250);
    expect(report.events).toEqual({ 'Order Confirmed': 250 });
    expect(report.cursor).toEqual({ to: NOW.toISOString(), advanced: true });
    expect(h.mirakl.queries[0]?.startUpdateDate).toEqual(new Date(NOW.getTime() - debenhams.poll.initialLookbackHours * 3_600_000));
  });

  it('the next poll starts at cursor minus overlap and republishes nothing', async () => {
    const h = harness(manyOrders(120));
    await runIngest(h.deps, debenhams, 'poll');
    h.setNow(new Date(NOW.getTime() + 60_000));
    const second = await runIngest(h.deps, debenhams, 'poll');
    expect(h.mirakl.queries[1]?.startUpdateDate).toEqual(new Date(NOW.getTime() - debenhams.poll.overlapMinutes * 60_000));
    expect(second.events).toEqual({});
    expect(h.publisher.published).toHaveLength(120);
    expect(second.cursor?.to).toBe(new Date(NOW.getTime() + 60_000).toISOString());
  });

  it('a run killed mid-pagination keeps the cursor; the restart neither loses nor duplicates an event', async () => {
    const h = harness(manyOrders(250));
    h.mirakl.failOnPage = 1;
    await expect(runIngest(h.deps, debenhams, 'poll')).rejects.toThrow('OR11 failed');
    expect(h.state.cursors.get('debenhams')).toBeUndefined();
    expect(h.publisher.published).toHaveLength(100);
    h.mirakl.failOnPage = undefined;
    await runIngest(h.deps, debenhams, 'poll');
    const ids = h.publisher.published.map((e) => e.id);
    expect(ids).toHaveLength(250);
    expect(new Set(ids).size).toBe(250);
    expect(h.state.cursors.get('debenhams')).toBe(NOW.toISOString());
  });

  it('when publishing fails nothing is remembered, so the retry publishes the same facts', async () => {
    const h = harness(manyOrders(3));
    const failing = { publish: async () => Promise.reject(new Error('PutEvents failed for 3 entries')) };
    await expect(runIngest({ ...h.deps, publisher: failing }, debenhams, 'poll')).rejects.toThrow('PutEvents');
    expect(h.state.snapshots.size).toBe(0);
    expect(h.state.cursors.size).toBe(0);
    await runIngest(h.deps, debenhams, 'poll');
    expect(h.publisher.published.map((e) => e.id)).toEqual(['debenhams:B0-A:confirmed', 'debenhams:B1-A:confirmed', 'debenhams:B2-A:confirmed']);
  });

  it('a bad record becomes an exception and the rest of the page goes on', async () => {
    const h = harness([rawOrder('G1-A'), { order_state: 'SHIPPING' }, rawOrder('G2-A', { customer: null }), rawOrder('G3-A')]);
    const report = await runIngest(h.deps, debenhams, 'poll');
    expect(h.publisher.published.map((e) => e.id)).toEqual(['debenhams:G1-A:confirmed', 'debenhams:G3-A:confirmed']);
    expect(h.exceptions.recorded.map((e) => [e.type, e.ref])).toEqual([
      ['order.malformed', '(no order_id)'],
      ['identity.missing', 'G2-A'],
    ]);
    expect(report.exceptions).toEqual({ 'order.malformed': 1, 'identity.missing': 1 });
    expect(report.cursor?.advanced).toBe(true);
  });

  it('never calls Mirakl when the call-frequency gate keeps saying no', async () => {
    const h = harness(manyOrders(1));
    const waits: number[] = [];
    const gate = { acquire: async () => ({ granted: false, retryInMs: 30_000 }) };
    const report = await runIngest({ ...h.deps, gate, sleep: async (ms) => void waits.push(ms) }, debenhams, 'poll');
    expect(report.skipped).toEqual({ reason: 'call-frequency', retryInMs: 30_000 });
    expect(waits.reduce((a, b) => a + b, 0)).toBe(OR11_SLOT_PATIENCE_MS);
    expect(h.mirakl.queries).toEqual([]);
    expect(h.publisher.published).toEqual([]);
  });

  it('waits briefly for a slot that opens a moment later instead of skipping the whole interval', async () => {
    const h = harness(manyOrders(1));
    let attempts = 0;
    const gate = { acquire: async () => ({ granted: ++attempts > 2 }) };
    const report = await runIngest({ ...h.deps, gate, sleep: async () => undefined }, debenhams, 'poll');
    expect(attempts).toBe(3);
    expect(report.skipped).toBeUndefined();
    expect(h.publisher.published).toHaveLength(1);
  });

  it('re-reads order ids announced by webhooks first, then forgets them', async () => {
    const h = harness([rawOrder('W1-A'), rawOrder('W2-A')]);
    await h.state.add('debenhams', ['W2-A']);
    await runIngest(h.deps, debenhams, 'poll');
    expect(h.mirakl.byIdCalls).toEqual([['W2-A']]);
    expect(await h.state.list('debenhams')).toEqual([]);
    expect(h.publisher.published.map((e) => e.id)).toEqual(['debenhams:W2-A:confirmed', 'debenhams:W1-A:confirmed']);
  });

  it('a sweep re-reads the last N days and leaves the cursor alone', async () => {
    const h = harness(manyOrders(2));
    const report = await runIngest(h.deps, debenhams, 'sweep');
    expect(h.mirakl.queries[0]?.startUpdateDate).toEqual(new Date(NOW.getTime() - debenhams.poll.sweepDays * 86_400_000));
    expect(report.cursor).toBeUndefined();
    expect(h.state.cursors.size).toBe(0);
    expect(report.events).toEqual({ 'Order Confirmed': 2 });
  });

  it('an order listed twice in one page is derived once', async () => {
    const order = rawOrder('D1-A');
    const h = harness([order, structuredClone(order)]);
    await runIngest(h.deps, debenhams, 'poll');
    expect(h.publisher.published.map((e) => e.id)).toEqual(['debenhams:D1-A:confirmed']);
  });
});
