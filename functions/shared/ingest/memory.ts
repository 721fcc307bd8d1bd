/**
 * In-memory ports for runs that must touch no AWS: the `plan` dry run (state carried between successive polls in
 * one process) and unit tests.
 */
import type { BusinessEvent } from '../events';
import type { ExceptionInput, ExceptionRecorder } from '../exceptions';
import type { OrderSnapshot } from './orderFacts';
import type {
  CallGate,
  CursorStore,
  EventPublisher,
  MiraklOrdersSource,
  OrderSnapshotStore,
  OrdersQuery,
  PendingOrderIds,
  StoredSnapshot,
} from './ports';

export class MemoryState implements OrderSnapshotStore, CursorStore, PendingOrderIds {
  readonly snapshots = new Map<string, StoredSnapshot>();
  readonly cursors = new Map<string, string>();
  readonly pendingIds = new Map<string, Set<string>>();

  async load(marketplace: string, orderIds: readonly string[]): Promise<Map<string, StoredSnapshot>> {
    const found = new Map<string, StoredSnapshot>();
    for (const id of orderIds) {
      const stored = this.snapshots.get(`${marketplace}#${id}`);
      if (stored) found.set(id, structuredClone(stored));
    }
    return found;
  }

  async save(marketplace: string, snapshot: OrderSnapshot, expectedVersion: number | undefined): Promise<boolean> {
    const key = `${marketplace}#${snapshot.orderId}`;
    if (this.snapshots.get(key)?.version !== expectedVersion) return false;
    this.snapshots.set(key, { snapshot: structuredClone(snapshot), version: (expectedVersion ?? 0) + 1 });
    return true;
  }

  async readCursor(marketplace: string): Promise<string | undefined> {
    return this.cursors.get(marketplace);
  }

  async advanceCursor(marketplace: string, from: string | undefined, to: string): Promise<boolean> {
    if (this.cursors.get(marketplace) !== from) return false;
    this.cursors.set(marketplace, to);
    return true;
  }

  async add(marketplace: string, orderIds: readonly string[]): Promise<void> {
    const ids = this.pendingIds.get(marketplace) ?? new Set<string>();
    for (const id of orderIds) ids.add(id);
    this.pendingIds.set(marketplace, ids);
  }

  async list(marketplace: string): Promise<string[]> {
    return [...(this.pendingIds.get(marketplace) ?? [])].sort();
  }

  async remove(marketplace: string, orderIds: readonly string[]): Promise<void> {
    for (const id of orderIds) this.pendingIds.get(marketplace)?.delete(id);
  }
}

export class CollectingPublisher implements EventPublisher {
  readonly published: BusinessEvent[] = [];
  async publish(events: readonly BusinessEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

export class CollectingExceptions implements ExceptionRecorder {
  readonly recorded: ExceptionInput[] = [];
  async record(exception: ExceptionInput): Promise<void> {
    this.recorded.push(exception);
  }
}

/** A gate that always grants: for a dry run over recorded responses, where no call reaches Mirakl. */
export const openGate: CallGate = { acquire: async () => ({ granted: true }) };

/** Serves recorded OR11 responses as if they were the current poll's pages. */
export class RecordedOrders implements MiraklOrdersSource {
  constructor(private readonly orders: readonly unknown[]) {}

  async *pages(_query: OrdersQuery): AsyncIterable<unknown[]> {
    for (let offset = 0; offset < this.orders.length; offset += 100) yield this.orders.slice(offset, offset + 100);
  }

  async *byIds(orderIds: readonly string[]): AsyncIterable<unknown[]> {
    const wanted = new Set(orderIds);
    yield this.orders.filter((o) => wanted.has((o as { order_id?: string })?.order_id ?? ''));
  }
}
