/**
 * What an ingest run needs from the outside world. The Lambdas plug in DynamoDB, EventBridge and the Mirakl HTTP
 * client; `plan` and the unit tests plug in memory. The run itself never knows which.
 */
import type { BusinessEvent } from '../events';
import type { ExceptionRecorder } from '../exceptions';
import type { OrderSnapshot } from './orderFacts';

export interface StoredSnapshot {
  snapshot: OrderSnapshot;
  /** Optimistic-concurrency version: a save succeeds only over the version it read. */
  version: number;
}

export interface OrderSnapshotStore {
  load(marketplace: string, orderIds: readonly string[]): Promise<Map<string, StoredSnapshot>>;
  /** Resolves false when another writer got there first (the next read re-derives, ids keep it safe). */
  save(marketplace: string, snapshot: OrderSnapshot, expectedVersion: number | undefined): Promise<boolean>;
}

export interface CursorStore {
  /** The last update time every event up to which is on the bus; undefined before the first run. */
  readCursor(marketplace: string): Promise<string | undefined>;
  /** Moves the cursor from `from` to `to`; resolves false if someone else moved it meanwhile. */
  advanceCursor(marketplace: string, from: string | undefined, to: string): Promise<boolean>;
}

/** Order ids a webhook announced as changed, waiting to be re-read through OR11. */
export interface PendingOrderIds {
  add(marketplace: string, orderIds: readonly string[]): Promise<void>;
  list(marketplace: string): Promise<string[]>;
  remove(marketplace: string, orderIds: readonly string[]): Promise<void>;
}

export interface EventPublisher {
  /** Resolves once every event is on the bus; rejects naming the events that could not be published. */
  publish(events: readonly BusinessEvent[]): Promise<void>;
}

export interface OrdersQuery {
  startUpdateDate: Date;
  endUpdateDate?: Date;
}

/** Pages of raw OR11 orders: raw so that one bad order never fails its page. */
export interface MiraklOrdersSource {
  pages(query: OrdersQuery): AsyncIterable<unknown[]>;
  byIds(orderIds: readonly string[]): AsyncIterable<unknown[]>;
}

/** Grants the right to call an operation no faster than Mirakl's published maximum. */
export interface CallGate {
  acquire(marketplace: string, operation: 'OR11'): Promise<{ granted: boolean; retryInMs?: number }>;
}

export interface IngestLog {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

export interface IngestDependencies {
  snapshots: OrderSnapshotStore;
  cursors: CursorStore;
  pending: PendingOrderIds;
  publisher: EventPublisher;
  exceptions: ExceptionRecorder;
  gate: CallGate;
  /** One orders source per marketplace (each has its own URL, key and shop). */
  orders(marketplace: string): Promise<MiraklOrdersSource>;
  log: IngestLog;
  now(): Date;
  /** Waits between call-slot attempts; real timers unless a test supplies its own. */
  sleep?(ms: number): Promise<void>;
}
