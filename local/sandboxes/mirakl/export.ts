/**
 * OR13 → OR14 → OR15, the asynchronous order export, as the seller OpenAPI describes it: OR13 takes a creation or
 * update window and answers a `tracking_id`; "Only one export request can be created for the same shop account"
 * (a second OR13 while one is pending is refused); OR14 answers PENDING until the files are ready, then COMPLETED
 * with their `urls`; each URL (OR15) serves `{"orders":[…]}` with at most `items_per_chunk` orders.
 *
 * Choices where Mirakl is silent: an export is PENDING for `pendingPolls` OR14 calls (default 1); orders are taken
 * as they are when the export completes; a file the shop already downloaded is still served (the once-per-URL
 * limit is a contract the client keeps, and `downloads` lets tests check it).
 */
import { BadRequest, listOrders, parseOr11Query } from './or11';
import type { MiraklOrder } from './types';
import type { MiraklWorld } from './world';

const ITEMS_PER_CHUNK = { min: 10_000, max: 1_000_000, default: 1_000_000 };

interface Export {
  marketplace: string;
  trackingId: string;
  params: URLSearchParams;
  itemsPerChunk: number;
  pollsLeft: number;
  createdAt: string;
  files?: Readonly<MiraklOrder>[][];
}

export interface OrderExportsOptions {
  /** OR14 calls answered PENDING before an export completes. Default 1. */
  pendingPolls?: number;
  /** Cuts files smaller than Mirakl's 10,000-order minimum, so tests see several files without huge worlds. */
  maxOrdersPerFile?: number;
}

function date(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BadRequest(`VALIDATION_ERROR: ${name} must be a date-time string`);
  return value;
}

export class OrderExports {
  private readonly exports = new Map<string, Export>();
  /** OR15 downloads per file URL path. */
  readonly downloads = new Map<string, number>();
  private next = 1;

  constructor(
    private readonly world: MiraklWorld,
    private readonly options: OrderExportsOptions = {},
  ) {}

  /** OR13. */
  create(marketplace: string, body: unknown): string {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequest('VALIDATION_ERROR: a JSON object is required');
    }
    const fields = body as Record<string, unknown>;
    const params = new URLSearchParams();
    for (const name of ['start_date', 'end_date', 'start_update_date', 'end_update_date']) {
      const value = date(fields, name);
      if (value !== undefined) params.set(name, value);
    }
    const creation = params.has('start_date') && params.has('end_date');
    const update = params.has('start_update_date') && params.has('end_update_date');
    if (!creation && !update) {
      throw new BadRequest('VALIDATION_ERROR: a created or last updated date range (start and end) is required');
    }
    if (Array.isArray(fields.order_state_codes)) params.set('order_state_codes', fields.order_state_codes.join(','));
    const items = fields.items_per_chunk ?? ITEMS_PER_CHUNK.default;
    if (!Number.isInteger(items) || (items as number) < ITEMS_PER_CHUNK.min || (items as number) > ITEMS_PER_CHUNK.max) {
      throw new BadRequest(`VALIDATION_ERROR: items_per_chunk must be from ${ITEMS_PER_CHUNK.min} to ${ITEMS_PER_CHUNK.max}`);
    }
    // Parsed now so a bad date is a 400 on OR13, not a FAILED export later.
    parseOr11Query(params);
    const running = [...this.exports.values()].some((e) => e.marketplace === marketplace && e.files === undefined);
    if (running) throw new BadRequest('Only one export request can be created for the same shop account');
    const trackingId = `export-${marketplace}-${this.next++}`;
    this.exports.set(trackingId, {
      marketplace,
      trackingId,
      params,
      itemsPerChunk: items as number,
      pollsLeft: this.options.pendingPolls ?? 1,
      createdAt: this.world.now().toISOString(),
    });
    return trackingId;
  }

  /** OR14; undefined for a tracking id this shop does not own. */
  status(marketplace: string, trackingId: string, fileUrl: (index: number) => string) {
    const job = this.exports.get(trackingId);
    if (!job || job.marketplace !== marketplace) return undefined;
    if (job.pollsLeft > 0) {
      job.pollsLeft -= 1;
      return { status: 'PENDING', last_updated: job.createdAt };
    }
    if (!job.files) {
      const query = { ...parseOr11Query(job.params), max: Number.MAX_SAFE_INTEGER, offset: 0 };
      const orders = listOrders(this.world.view(marketplace), query).orders;
      const perFile = Math.min(job.itemsPerChunk, this.options.maxOrdersPerFile ?? job.itemsPerChunk);
      job.files = [];
      for (let i = 0; i < orders.length; i += perFile) job.files.push(orders.slice(i, i + perFile).map((o) => structuredClone(o)));
    }
    return {
      status: 'COMPLETED',
      last_updated: this.world.now().toISOString(),
      urls: job.files.map((_, i) => fileUrl(i)),
    };
  }

  /** OR15; undefined for a file that does not exist. */
  file(marketplace: string, trackingId: string, index: number, path: string) {
    const job = this.exports.get(trackingId);
    const orders = job?.marketplace === marketplace ? job.files?.[index] : undefined;
    if (!orders) return undefined;
    this.downloads.set(path, (this.downloads.get(path) ?? 0) + 1);
    return { orders };
  }
}
