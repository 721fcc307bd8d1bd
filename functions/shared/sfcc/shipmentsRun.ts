/**
 * The scheduled read of SFCC shipments (PRODUCT.md promise 9): every `SHIPMENTS_READ_MINUTES`, the shipments SFCC
 * marked shipped since the cursor become `Shipment Dispatched` events, and the cursor moves on only once they are all
 * on the bus. It works with no cartridge hook in SFCC; where hooks also call the webhook, both give the same event id
 * per shipment, so dispatch still happens once.
 */
import type { CursorStore, EventPublisher } from '../ingest/ports';
import type { ShipmentsReader } from './shipments';

export const SHIPMENTS_READ_MINUTES = 5;
/** The first read of a new deployment starts this far back. */
export const SHIPMENTS_INITIAL_LOOKBACK_HOURS = 24;
/** The read's cursor row in the state table (beside the per-marketplace OR11 cursors). */
export const SHIPMENTS_CURSOR = 'sfcc-shipments';

export interface ShipmentsReadResult {
  from: string;
  events: number;
  cursor?: string;
  /** False when SCAPI's offset limit stopped the read: the next run carries on from the cursor. */
  complete: boolean;
}

export async function runShipmentsRead(deps: {
  reader: ShipmentsReader;
  cursors: CursorStore;
  publisher: EventPublisher;
  now: () => Date;
}): Promise<ShipmentsReadResult> {
  const cursor = await deps.cursors.readCursor(SHIPMENTS_CURSOR);
  const from = cursor ?? new Date(deps.now().getTime() - SHIPMENTS_INITIAL_LOOKBACK_HOURS * 3_600_000).toISOString();
  const page = await deps.reader.dispatchedSince(from);
  // getOrders reads from the cursor inclusively, so the last order's shipments come again: same event ids, one dispatch.
  if (page.events.length > 0) await deps.publisher.publish(page.events);
  if (page.cursor && page.cursor !== cursor) await deps.cursors.advanceCursor(SHIPMENTS_CURSOR, cursor, page.cursor);
  return { from, events: page.events.length, ...(page.cursor ? { cursor: page.cursor } : {}), complete: page.complete };
}
