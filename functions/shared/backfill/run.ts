/**
 * A history load: past orders of a creation window read through Mirakl's asynchronous export (OR13 → OR14 →
 * OR15), or OR11 creation-date pages where the export is unavailable, turned into business facts marked
 * `backfill: true` by the same page processing the poller uses, and published onto the bus, where the connectors'
 * queues, bulk paths and pacers take them (history events always take the bulk path and fire no live flow).
 *
 * Work goes in chunks of up to 100 orders; progress is saved after each, so a killed load re-does at most one
 * chunk (the snapshots, or for a targeted load each connector's idempotency, make that re-do publish nothing
 * twice) and a stop request finishes the chunk in hand first.
 */
import type { MarketplaceConfig } from '../config';
import { type PageCounts, processPage } from '../ingest/ingestRun';
import type { IngestDependencies } from '../ingest/ports';
import { HttpError } from '../http';
import type { CallGrant } from '../mirakl/callFrequency';
import { type MiraklClient, OR11_PAGE_SIZE, OR13_ITEMS_PER_CHUNK } from '../mirakl/client';
import {
  type BackfillProgress,
  type BackfillProgressStore,
  type BackfillRequest,
  type BackfillSource,
  loadIdOf,
} from './progress';

/** Orders per chunk: one OR11 page, and the unit of progress and of stopping. */
export const BACKFILL_CHUNK = OR11_PAGE_SIZE;
/** OR14: "Recommended usage: Every 10 seconds per OR13 call" (the 2 s maximum is for impatient clients). */
export const EXPORT_POLL_MS = 10_000;
/** Statuses after which an export will never complete; anything else unknown is polled again. */
const EXPORT_FAILED = new Set(['FAILED', 'CANCELED']);
/** OR13 answers for an instance or a key without the export: the load reads OR11 instead. */
const EXPORT_UNAVAILABLE = new Set([403, 404, 405, 501]);

export type BackfillMirakl = Pick<MiraklClient, 'createOrderExport' | 'orderExportStatus' | 'orderExportFile' | 'listOrders'>;

export interface BackfillDependencies {
  progress: BackfillProgressStore;
  mirakl(marketplace: string): Promise<BackfillMirakl>;
  gate: { acquire(marketplace: string, operation: 'OR11' | 'OR13:full' | 'OR14'): Promise<CallGrant> };
  ingest: Pick<IngestDependencies, 'snapshots' | 'exceptions' | 'publisher' | 'log'>;
  /** Resolves when the connectors' queues have room for another chunk (see ./backlog). */
  backlog?: { waitForRoom(): Promise<void> };
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface BackfillControl {
  /** Asked after every chunk and before every wait: true saves and returns `stopped`. */
  shouldStop(): boolean;
  onProgress?(progress: BackfillProgress): void;
  /** Return `waiting` rather than sleep while Mirakl prepares the export (the AWS job waits in Step Functions). */
  returnWhenWaiting?: boolean;
}

export type BackfillOutcome =
  | { status: 'done' | 'stopped'; progress: BackfillProgress }
  | { status: 'waiting'; progress: BackfillProgress; retryInMs: number };

/** Another runner saved the same load meanwhile; this one stops and leaves the load to it. */
export class BackfillSuperseded extends Error {
  constructor(loadId: string) {
    super(`history load ${loadId} is being run elsewhere`);
  }
}

export function validateRequest(request: BackfillRequest): void {
  for (const [name, value] of [['from', request.from], ['to', request.to]] as const) {
    if (Number.isNaN(Date.parse(value))) throw new RangeError(`${name} is not a date: ${value}`);
  }
  if (Date.parse(request.from) >= Date.parse(request.to)) throw new RangeError('from must be before to');
}

function freshProgress(request: BackfillRequest, now: Date): BackfillProgress {
  const at = now.toISOString();
  return {
    loadId: loadIdOf(request),
    request,
    status: 'exporting',
    fileSizes: [],
    file: 0,
    offset: 0,
    ordersDone: 0,
    eventsPublished: 0,
    startedAt: at,
    updatedAt: at,
  };
}

const eventsIn = (counts: PageCounts) => Object.values(counts.events).reduce((a, b) => a + b, 0);

export async function runBackfill(
  deps: BackfillDependencies,
  marketplace: MarketplaceConfig,
  request: BackfillRequest,
  control: BackfillControl,
): Promise<BackfillOutcome> {
  validateRequest(request);
  const loadId = loadIdOf(request);
  const stored = await deps.progress.load(loadId);
  let version = stored?.version;
  const progress = stored?.progress ?? freshProgress(request, deps.now());
  const client = await deps.mirakl(marketplace.id);
  const window = { startDate: new Date(request.from), endDate: new Date(request.to) };
  // Only the file in hand is kept; a resumed load reads its file again (once more than Mirakl's once-per-URL).
  let file: { index: number; orders: unknown[] } | undefined;
  let or11Granted = false;

  async function save(): Promise<void> {
    progress.updatedAt = deps.now().toISOString();
    if (!(await deps.progress.save(progress, version))) throw new BackfillSuperseded(loadId);
    version = (version ?? 0) + 1;
    control.onProgress?.(progress);
  }

  function useOr11(reason: string): void {
    progress.source = 'OR11';
    progress.fallbackReason = reason;
    progress.status = 'loading';
    progress.offset = 0;
  }

  async function chooseSource(): Promise<BackfillSource> {
    const grant = await deps.gate.acquire(marketplace.id, 'OR13:full');
    if (!grant.granted) {
      useOr11('a full OR13 export was already made in the last 24 hours');
      return 'OR11';
    }
    try {
      progress.trackingId = await client.createOrderExport({ ...window, itemsPerChunk: OR13_ITEMS_PER_CHUNK.min });
      progress.source = 'OR13';
      return 'OR13';
    } catch (error) {
      if (!(error instanceof HttpError && error.status !== undefined && EXPORT_UNAVAILABLE.has(error.status))) throw error;
      useOr11(`OR13 is not available (HTTP ${error.status})`);
      return 'OR11';
    }
  }

  /** Undefined when the export moved on (ready, or given up); otherwise how long to wait before asking again. */
  async function followExport(): Promise<number | undefined> {
    const grant = await deps.gate.acquire(marketplace.id, 'OR14');
    if (!grant.granted) return grant.retryInMs ?? EXPORT_POLL_MS;
    const status = await client.orderExportStatus(progress.trackingId as string);
    if (status.status === 'COMPLETED') {
      progress.urls = status.urls;
      progress.status = status.urls.length === 0 ? 'done' : 'loading';
      return undefined;
    }
    if (EXPORT_FAILED.has(status.status)) {
      useOr11(`the OR13 export ended ${status.status}`);
      return undefined;
    }
    return EXPORT_POLL_MS;
  }

  async function publish(orders: unknown[]): Promise<void> {
    await deps.backlog?.waitForRoom();
    const counts: PageCounts = { pages: 0, ordersRead: 0, staleOrders: 0, events: {}, exceptions: {} };
    await processPage(deps.ingest, marketplace, 'backfill', orders, counts, true, request.connectors);
    progress.ordersDone += orders.length;
    progress.eventsPublished += eventsIn(counts);
  }

  async function exportChunk(): Promise<void> {
    const urls = progress.urls as string[];
    if (file?.index !== progress.file) {
      file = { index: progress.file, orders: await client.orderExportFile(urls[progress.file] as string) };
      progress.fileSizes[progress.file] = file.orders.length;
    }
    const chunk = file.orders.slice(progress.offset, progress.offset + BACKFILL_CHUNK);
    await publish(chunk);
    progress.offset += chunk.length;
    if (progress.offset >= file.orders.length) {
      progress.file += 1;
      progress.offset = 0;
      if (progress.file >= urls.length) progress.status = 'done';
    }
  }

  /** Undefined after a page; a wait when OR11's call slot is taken (by the poller, most likely). */
  async function or11Chunk(): Promise<number | undefined> {
    // One slot per run of pages, as the poller counts its paged read as one OR11 call.
    if (!or11Granted) {
      const grant = await deps.gate.acquire(marketplace.id, 'OR11');
      if (!grant.granted) return grant.retryInMs ?? 60_000;
      or11Granted = true;
    }
    // Sorted by creation date within a closed creation window: new orders never shift the offsets.
    const page = await client.listOrders({ ...window, max: BACKFILL_CHUNK, offset: progress.offset });
    progress.total = page.total_count ?? undefined;
    await publish(page.orders);
    progress.offset += page.orders.length;
    const end = page.orders.length < BACKFILL_CHUNK || (progress.total !== undefined && progress.offset >= progress.total);
    if (end) progress.status = 'done';
    return undefined;
  }

  // A function, not an inline test: the chunk steps change the status behind TypeScript's narrowing.
  const finished = () => progress.status === 'done';
  if (!stored) await save();
  for (;;) {
    if (finished()) return { status: 'done', progress };
    let waitMs: number | undefined;
    if (!progress.source) {
      await chooseSource();
    } else if (progress.status === 'exporting') {
      waitMs = await followExport();
    } else if (progress.source === 'OR13') {
      await exportChunk();
    } else {
      waitMs = await or11Chunk();
    }
    if (waitMs === undefined) await save();
    if (finished()) return { status: 'done', progress };
    if (control.shouldStop()) return { status: 'stopped', progress };
    if (waitMs !== undefined) {
      if (control.returnWhenWaiting) return { status: 'waiting', progress, retryInMs: waitMs };
      await deps.sleep(waitMs);
    }
  }
}
