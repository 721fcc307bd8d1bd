/**
 * `marketbridge backfill` as a user runs it: arguments, progress lines on stderr, the outcome on stdout, Ctrl-C
 * (an aborted signal) stopping after the chunk in hand, and the same command resuming the load.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backfill } from '../../cli/backfill';
import { main } from '../../cli/main';
import { CollectingPublisher } from '../../functions/shared/ingest/memory';
import type { MiraklSandbox } from '../../local/sandboxes/mirakl';
import { backfillProcess, backfillStores, pastOrdersSandbox } from '../support/backfillFixtures';

const API_KEY = 'backfill-cli-key';
let sandbox: MiraklSandbox;
let clock: number;
const stores = backfillStores();
const publisher = new CollectingPublisher();

beforeEach(async () => {
  clock = Date.parse('2026-11-22T09:00:00Z');
  sandbox = await pastOrdersSandbox({ apiKey: API_KEY, clock: () => clock, count: 300, first: '2026-09-01T00:00:00Z', everyMs: 3_600_000, maxOrdersPerFile: 150 });
});
afterEach(async () => sandbox.close());

const deps = () =>
  backfillProcess(`${sandbox.url}/debenhams`, API_KEY, stores, publisher, { now: () => clock, advance: (ms) => void (clock += ms) });

function output() {
  const lines: unknown[] = [];
  const errors: string[] = [];
  return { lines, errors, out: { line: (v: unknown) => lines.push(v), error: (m: string) => errors.push(m) } };
}

describe('marketbridge backfill', () => {
  it('stops on Ctrl-C after the chunk in hand, then the same command finishes the load', async () => {
    const args = ['--marketplace', 'debenhams', '--from', '2026-09-01', '--to', '2026-10-01'];
    const first = output();
    const stop = new AbortController();
    // Ctrl-C as soon as the first chunk's progress shows.
    const out = { ...first.out, error: (m: string) => (first.errors.push(m), m.startsWith('debenhams: 100/') && stop.abort()) };
    let tick = clock;
    const code = await backfill(args, out as never, undefined, () => deps(), stop.signal, () => (tick += 2_000));
    expect(code).toBe(1);
    expect(first.lines).toEqual([expect.objectContaining({ kind: 'backfill', status: 'stopped', source: 'OR13', orders: 100 })]);
    expect(first.errors.some((m) => /^debenhams: 100\/\d+ orders .*orders\/s.*ETA/.test(m))).toBe(true);
    expect(first.errors.at(-1)).toMatch(/run the same command again/);

    const second = output();
    expect(await backfill(args, second.out, undefined, () => deps(), new AbortController().signal)).toBe(0);
    expect(second.lines).toEqual([expect.objectContaining({ status: 'done', orders: 300 })]);
    expect(second.errors[0]).toMatch(/^resuming debenhams:2026-09-01T00:00:00.000Z:2026-10-01T00:00:00.000Z:all at 100 orders$/);
    expect(new Set(publisher.published.map((e) => e.id)).size).toBe(publisher.published.length);
    expect(publisher.published.filter((e) => e.detailType === 'Order Confirmed')).toHaveLength(300);
    expect(sandbox.requests.filter((r) => r.operation === 'OR13')).toHaveLength(1);
  });

  it('explains bad arguments', async () => {
    const { out, errors } = output();
    expect(await main(['backfill', '--marketplace', 'debenhams'], out)).toBe(2);
    expect(errors[0]).toMatch(/--from are required/);
    expect(await main(['backfill', '--marketplace', 'debenhams', '--from', 'yesterday'], out)).toBe(2);
    expect(errors[1]).toMatch(/--from is not a date/);
    expect(await main(['backfill', '--marketplace', 'debenhams', '--from', '2026-01-01', '--connectors', 'myspace'], out)).toBe(2);
    expect(errors[2]).toMatch(/unknown connector "myspace"/);
  });
});
