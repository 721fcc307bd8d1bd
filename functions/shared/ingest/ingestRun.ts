/**
 * One ingest run for one marketplace: read changed orders from OR11, derive the new business facts, put them on
 * the bus, remember what was published, and only then move the cursor. A run that fails anywhere leaves the
 * cursor where it was, so the next run re-reads the same window and the snapshots make that re-read publish
 * nothing twice.
 */
import type { ConnectorName, MarketplaceConfig } from '../config';
import type { BusinessEvent } from '../events';
import type { ExceptionInput } from '../exceptions';
import { waitForCallSlot } from '../mirakl/callFrequency';
import { type OrderSnapshot, orderFacts } from './orderFacts';
import type { IngestDependencies, StoredSnapshot } from './ports';

export type IngestMode = 'poll' | 'sweep';

export interface IngestReport {
  marketplace: string;
  mode: IngestMode;
  /** Set when the run did not call Mirakl because the call-frequency contract forbids it right now. */
  skipped?: { reason: 'call-frequency'; retryInMs?: number };
  pages: number;
  ordersRead: number;
  staleOrders: number;
  events: Record<string, number>;
  exceptions: Record<string, number>;
  window?: { from: string; to?: string };
  cursor?: { from?: string; to: string; advanced: boolean };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function emptyReport(marketplace: string, mode: IngestMode): IngestReport {
  return { marketplace, mode, pages: 0, ordersRead: 0, staleOrders: 0, events: {}, exceptions: {} };
}

function orderIdOf(raw: unknown): string | undefined {
  const id = raw && typeof raw === 'object' ? (raw as { order_id?: unknown }).order_id : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

export type PageCounts = Pick<IngestReport, 'pages' | 'ordersRead' | 'staleOrders' | 'events' | 'exceptions'>;

/**
 * Derives and publishes one page; snapshots are saved only after the page's events are all on the bus.
 * `connectors` aims a history load at some connectors only: facts are derived afresh (the live snapshots say what
 * the other connectors already have) and snapshots stay untouched; each connector's idempotency keeps it
 * exactly-once.
 */
export async function processPage(
  deps: Pick<IngestDependencies, 'snapshots' | 'exceptions' | 'publisher' | 'log'>,
  marketplace: MarketplaceConfig,
  component: string,
  rawOrders: unknown[],
  report: PageCounts,
  backfill: boolean,
  connectors?: readonly ConnectorName[],
): Promise<string[]> {
  const ids = [...new Set(rawOrders.map(orderIdOf).filter((id): id is string => id !== undefined))];
  const stored = connectors ? new Map<string, StoredSnapshot>() : await deps.snapshots.load(marketplace.id, ids);
  const current = new Map<string, StoredSnapshot | { snapshot: OrderSnapshot; version: number | undefined }>(stored);
  const changed = new Map<string, OrderSnapshot>();
  const events: BusinessEvent[] = [];
  const exceptions: ExceptionInput[] = [];

  for (const raw of rawOrders) {
    report.ordersRead += 1;
    const id = orderIdOf(raw);
    const previous = id ? current.get(id)?.snapshot : undefined;
    const result = orderFacts(raw, previous, { marketplace, component, backfill });
    if (result.exception) exceptions.push(result.exception);
    if (result.stale) report.staleOrders += 1;
    for (const notice of result.notices) deps.log.warn(notice, { marketplace: marketplace.id, orderId: result.orderId });
    const aimed = connectors && result.events.map((e) => ({ ...e, detail: { ...e.detail, connectors: [...connectors] } }));
    events.push(...((aimed as BusinessEvent[] | undefined) ?? result.events));
    if (!connectors && result.snapshot && result.snapshot !== previous) {
      changed.set(result.orderId, result.snapshot);
      current.set(result.orderId, { snapshot: result.snapshot, version: stored.get(result.orderId)?.version });
    }
  }

  // Exceptions first: they are idempotent upserts and must not be lost if publishing fails.
  for (const exception of exceptions) {
    await deps.exceptions.record(exception);
    count(report.exceptions, exception.type);
  }
  await deps.publisher.publish(events);
  for (const event of events) count(report.events, event.detailType);
  for (const [orderId, snapshot] of changed) {
    const saved = await deps.snapshots.save(marketplace.id, snapshot, stored.get(orderId)?.version);
    if (!saved) deps.log.warn('order snapshot changed concurrently; the next read re-derives it', { orderId });
  }
  report.pages += 1;
  return ids;
}

/**
 * A scheduled poll fires one interval after the previous poll took its slot, give or take some milliseconds.
 * Rather than skip a whole interval over those milliseconds, a run waits briefly for the slot; Mirakl's maximum is
 * never exceeded, because the slot decides, not the schedule.
 */
export const OR11_SLOT_PATIENCE_MS = 5_000;

/**
 * Runs one poll (incremental from the cursor) or sweep (the last N days, cursor untouched). Both first re-read the
 * order ids webhooks announced: webhooks never call OR11 themselves, so notifications can neither push OR11 past
 * Mirakl's contract nor starve the scheduled poll of its call slot.
 */
export async function runIngest(
  deps: IngestDependencies,
  marketplace: MarketplaceConfig,
  mode: IngestMode,
  options: { backfill?: boolean } = {},
): Promise<IngestReport> {
  const backfill = options.backfill ?? false;
  const report = emptyReport(marketplace.id, mode);
  const component = 'poller';
  const gate = await waitForCallSlot(deps.gate, marketplace.id, 'OR11', { patienceMs: OR11_SLOT_PATIENCE_MS, pollEveryMs: 500, sleep: deps.sleep });
  if (!gate.granted) {
    report.skipped = { reason: 'call-frequency', ...(gate.retryInMs === undefined ? {} : { retryInMs: gate.retryInMs }) };
    return report;
  }
  const source = await deps.orders(marketplace.id);
  const runStartedAt = deps.now();

  const pending = await deps.pending.list(marketplace.id);
  if (pending.length > 0) {
    for await (const page of source.byIds(pending)) await processPage(deps, marketplace, component, page, report, backfill);
    await deps.pending.remove(marketplace.id, pending);
  }

  const cursor = mode === 'poll' ? await deps.cursors.readCursor(marketplace.id) : undefined;
  const from =
    mode === 'sweep'
      ? new Date(runStartedAt.getTime() - marketplace.poll.sweepDays * 24 * HOUR)
      : cursor
        ? new Date(Date.parse(cursor) - marketplace.poll.overlapMinutes * MINUTE)
        : new Date(runStartedAt.getTime() - marketplace.poll.initialLookbackHours * HOUR);
  report.window = { from: from.toISOString() };
  // No end_update_date on purpose: pages are sorted by creation date, so an order updated while we page stays in
  // the result set at its place; an upper bound would drop it and shift every later order past our offsets.
  for await (const page of source.pages({ startUpdateDate: from })) {
    await processPage(deps, marketplace, component, page, report, backfill);
  }

  if (mode === 'poll') {
    // The run's start, taken before the first OR11 call: anything updated during the run is re-read next time.
    const to = runStartedAt.toISOString();
    const advanced = await deps.cursors.advanceCursor(marketplace.id, cursor, to);
    if (!advanced) deps.log.warn('cursor moved by another run; keeping theirs', { marketplace: marketplace.id });
    report.cursor = { ...(cursor === undefined ? {} : { from: cursor }), to, advanced };
  }
  return report;
}
