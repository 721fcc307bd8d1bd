/**
 * History loads over real HTTP: the Mirakl sandbox's OR13 → OR14 → OR15 (and OR11 when the export is not to be
 * had), the Mirakl client, the real page processing, progress in a store that outlives a "killed" run, and for the
 * downstream half the Klaviyo connector as deployed (queue, batch handler, idempotency) against its sandbox.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBackfill } from '../../functions/shared/backfill/run';
import { type BackfillRequest, loadIdOf } from '../../functions/shared/backfill/progress';
import { formatProgress, progressFigures } from '../../functions/shared/backfill/report';
import { backlogGate, highWaterMark } from '../../functions/shared/backfill/backlog';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import type { BusinessEvent } from '../../functions/shared/events';
import { CollectingPublisher } from '../../functions/shared/ingest/memory';
import type { EventPublisher } from '../../functions/shared/ingest/ports';
import { createCallFrequencyGuard } from '../../functions/shared/mirakl/callFrequency';
import type { MiraklSandbox } from '../../local/sandboxes/mirakl';
import { type BackfillStores, backfillProcess, backfillStores, pastOrdersSandbox } from '../support/backfillFixtures';
import { type Harness, startHarness } from '../support/connectorHarness';

const API_KEY = 'backfill-test-key';
const debenhams = marketplaceById(sandboxConfig, 'debenhams');
const ORDERS = 250;
const request: BackfillRequest = { marketplace: 'debenhams', from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' };

let sandbox: MiraklSandbox;
let clock: number;

beforeEach(async () => {
  clock = Date.parse('2026-11-22T09:00:00Z');
  // Past orders, confirmed and shipped, every 2.5 hours inside the window; one order outside it.
  const first = new Date(Date.parse(request.from) + 9_000_000).toISOString();
  sandbox = await pastOrdersSandbox({ apiKey: API_KEY, clock: () => clock, count: ORDERS, first, everyMs: 9_000_000, shipped: true, maxOrdersPerFile: 150 });
  sandbox.world.createOrder('debenhams', { createdAt: new Date('2026-11-10T00:00:00Z') });
});
afterEach(async () => sandbox.close());

const process_ = (stores: BackfillStores, publisher: EventPublisher) =>
  backfillProcess(`${sandbox.url}/debenhams`, API_KEY, stores, publisher, { now: () => clock, advance: (ms) => void (clock += ms) });
const freshStores = backfillStores;

const calls = (op: string) => sandbox.requests.filter((r) => r.operation === op);
const confirmedIds = (events: readonly BusinessEvent[]) => events.filter((e) => e.detailType === 'Order Confirmed').map((e) => e.id);

describe('history load through the asynchronous export', () => {
  it('reads every order of the window once, as history, with one OR13 and one download per file', async () => {
    const publisher = new CollectingPublisher();
    const outcome = await runBackfill(process_(freshStores(), publisher), debenhams, request, { shouldStop: () => false });

    expect(outcome.status).toBe('done');
    expect(outcome.progress).toMatchObject({ source: 'OR13', ordersDone: ORDERS, fileSizes: [150, 100] });
    expect(new Set(confirmedIds(publisher.published)).size).toBe(ORDERS);
    expect(publisher.published.every((e) => e.detail.backfill === true)).toBe(true);
    expect(new Set(publisher.published.map((e) => e.id)).size).toBe(publisher.published.length);
    expect(calls('OR13')).toHaveLength(1);
    expect(calls('OR14').length).toBeGreaterThanOrEqual(2);
    expect([...sandbox.exports.downloads.values()]).toEqual([1, 1]);
    // OR14 no faster than its contract: the pending answer was followed after the recommended 10 s.
    const polls = calls('OR14').map((r) => Date.parse(r.at));
    expect((polls[1] as number) - (polls[0] as number)).toBeGreaterThanOrEqual(2_000);
  });

  it('resumes a killed load where it stopped: no second export, nothing published twice, nothing lost', async () => {
    const stores = freshStores();
    const first = new CollectingPublisher();
    let chunks = 0;
    // The process dies on its third chunk, before that chunk reaches the bus.
    const dying: EventPublisher = {
      publish: async (events) => {
        chunks += 1;
        if (chunks === 3) throw new Error('killed');
        await first.publish(events);
      },
    };
    await expect(runBackfill(process_(stores, dying), debenhams, request, { shouldStop: () => false })).rejects.toThrow('killed');
    const saved = (await stores.progress.load(loadIdOf(request)))?.progress;
    expect(saved).toMatchObject({ status: 'loading', file: 1, offset: 0, ordersDone: 150 });

    const second = new CollectingPublisher();
    const outcome = await runBackfill(process_(stores, second), debenhams, request, { shouldStop: () => false });
    expect(outcome.status).toBe('done');
    const all = [...first.published, ...second.published].map((e) => e.id);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(confirmedIds([...first.published, ...second.published])).size).toBe(ORDERS);
    expect(calls('OR13')).toHaveLength(1);
    // The file the kill interrupted is the only one read again.
    expect([...sandbox.exports.downloads.values()]).toEqual([1, 2]);
  });

  it('a stop request finishes the chunk in hand, saves, and the next run completes the load', async () => {
    const stores = freshStores();
    const publisher = new CollectingPublisher();
    const lines: string[] = [];
    let stop = false;
    const first = await runBackfill(process_(stores, publisher), debenhams, request, {
      shouldStop: () => stop,
      onProgress: (p) => {
        if (p.ordersDone === 100) stop = true;
        lines.push(formatProgress(p, progressFigures(p, { startedAtMs: Date.parse(p.startedAt), doneAtStart: 0 }, clock + 1_000)));
      },
    });
    expect(first.status).toBe('stopped');
    expect(first.progress).toMatchObject({ file: 0, offset: 100, ordersDone: 100 });
    // One file of two read: the total is estimated from it.
    expect(lines.at(-1)).toMatch(/^debenhams: 100\/300 orders \(33 %\), [\d.]+ orders\/s, ETA .*, \d+ events; export file 1\/2$/);

    const second = await runBackfill(process_(stores, publisher), debenhams, request, { shouldStop: () => false });
    expect(second.status).toBe('done');
    expect(new Set(confirmedIds(publisher.published)).size).toBe(ORDERS);
    expect(calls('OR13')).toHaveLength(1);
    // The stopped file is the one file read twice: its URL once per process that worked on it.
    expect([...sandbox.exports.downloads.values()]).toEqual([2, 1]);
  });

  it('an AWS job slice returns while the export is pending instead of sleeping in the Lambda', async () => {
    const outcome = await runBackfill(process_(freshStores(), new CollectingPublisher()), debenhams, request, {
      shouldStop: () => false,
      returnWhenWaiting: true,
    });
    expect(outcome).toMatchObject({ status: 'waiting', retryInMs: 10_000, progress: { status: 'exporting', source: 'OR13' } });
  });

  it('orders the live poller already published produce nothing new', async () => {
    const stores = freshStores();
    const live = new CollectingPublisher();
    await runBackfill(process_(stores, live), debenhams, request, { shouldStop: () => false });
    const again = new CollectingPublisher();
    clock += 25 * 3_600_000;
    await runBackfill(process_(stores, again), debenhams, { ...request, to: '2026-11-01T00:00:00Z' }, { shouldStop: () => false });
    expect(again.published).toEqual([]);
  });
});

describe('history load through OR11 when the export cannot be used', () => {
  it('pages OR11 by creation date when a full export was already taken today', async () => {
    const stores = freshStores();
    await createCallFrequencyGuard(stores.slots, 'default', { now: () => clock }).acquire('debenhams', 'OR13:full');
    const publisher = new CollectingPublisher();
    const outcome = await runBackfill(process_(stores, publisher), debenhams, request, { shouldStop: () => false });
    expect(outcome.progress).toMatchObject({ source: 'OR11', status: 'done', total: ORDERS, ordersDone: ORDERS });
    expect(outcome.progress.fallbackReason).toMatch(/24 hours/);
    expect(calls('OR13')).toHaveLength(0);
    expect(calls('OR11').map((r) => [r.query.start_date, r.query.offset])).toEqual([
      [request.from, '0'],
      [request.from, '100'],
      [request.from, '200'],
    ]);
    expect(new Set(confirmedIds(publisher.published)).size).toBe(ORDERS);
  });
});

describe('what reaches the destinations', () => {
  let harness: Harness | undefined;
  afterEach(async () => harness?.close());

  it('Klaviyo receives the history through its bulk jobs with backfill set, so no flow fires', async () => {
    const publisher = new CollectingPublisher();
    await runBackfill(process_(freshStores(), publisher), debenhams, { ...request, to: '2026-10-05T00:00:00.000Z' }, { shouldStop: () => false });
    harness = await startHarness({ connector: { bulk: 'auto', bulkMinRecords: 1_000 } });
    harness.send(publisher.published);
    await harness.drain({ batchSize: 10 });

    const routes = harness.sandbox.requests.map((r) => r.route);
    expect(routes).not.toContain('createEvent');
    expect(routes).toContain('bulkCreateEvents');
    const sent = harness.sandbox.requests
      .filter((r) => r.route === 'bulkCreateEvents')
      .flatMap((r) => (r.body as { data: { attributes: { 'events-bulk-create': { data: { attributes: { events: { data: { attributes: { backfill: boolean } }[] } } }[] } } } }).data.attributes['events-bulk-create'].data)
      .flatMap((p) => p.attributes.events.data.map((e) => e.attributes.backfill));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((b) => b === true)).toBe(true);
  });

  it('a load aimed at other connectors leaves Klaviyo alone and the live snapshots untouched', async () => {
    const stores = freshStores();
    const publisher = new CollectingPublisher();
    const aimed = { ...request, to: '2026-10-05T00:00:00.000Z', connectors: ['dotdigital' as const] };
    await runBackfill(process_(stores, publisher), debenhams, aimed, { shouldStop: () => false });
    expect(publisher.published.length).toBeGreaterThan(0);
    expect(publisher.published.every((e) => e.detail.connectors?.join() === 'dotdigital')).toBe(true);
    expect(stores.state.snapshots.size).toBe(0);

    harness = await startHarness({ connector: { bulk: 'auto' } });
    harness.send(publisher.published);
    await harness.drain({ batchSize: 10 });
    expect(harness.sandbox.requests).toEqual([]);
    expect(harness.queue.depth().visible + harness.dlq.depth().visible).toBe(0);
  });
});

describe('backpressure', () => {
  it('waits while a target queue is at its high-water mark', async () => {
    let depth = highWaterMark(500, 2) + 1;
    let slept = 0;
    const gate = backlogGate({ depths: async () => ({ klaviyo: depth }) }, { klaviyo: highWaterMark(500, 2) }, {
      sleep: async () => {
        slept += 1;
        depth -= 2_000;
      },
    });
    await gate.waitForRoom();
    expect(slept).toBe(1);
  });
});
