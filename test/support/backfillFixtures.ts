/**
 * History loads in tests: one "process" of the load (its own Mirakl client and call-frequency view) over stores that
 * outlive it, as a restarted CLI or the next Lambda slice would find them, on a clock the waits move forward.
 */
import type { BackfillDependencies } from '../../functions/shared/backfill/run';
import { MemoryProgressStore } from '../../functions/shared/backfill/progress';
import { CollectingExceptions, MemoryState } from '../../functions/shared/ingest/memory';
import type { EventPublisher } from '../../functions/shared/ingest/ports';
import { InMemoryCallSlotStore, createCallFrequencyGuard } from '../../functions/shared/mirakl/callFrequency';
import { createMiraklClient } from '../../functions/shared/mirakl/client';

export interface BackfillStores {
  progress: MemoryProgressStore;
  state: MemoryState;
  slots: InMemoryCallSlotStore;
}

export function backfillStores(): BackfillStores {
  return { progress: new MemoryProgressStore(), state: new MemoryState(), slots: new InMemoryCallSlotStore() };
}

export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function backfillProcess(
  miraklUrl: string,
  apiKey: string,
  stores: BackfillStores,
  publisher: EventPublisher,
  clock: TestClock,
): BackfillDependencies {
  const client = createMiraklClient({ baseUrl: miraklUrl, apiKey, sleep: async () => undefined });
  const guard = createCallFrequencyGuard(stores.slots, 'default', { now: clock.now });
  return {
    progress: stores.progress,
    mirakl: async () => client,
    gate: { acquire: (mp, op) => guard.acquire(mp, op) },
    ingest: { snapshots: stores.state, exceptions: new CollectingExceptions(), publisher, log: { info: () => undefined, warn: () => undefined } },
    now: () => new Date(clock.now()),
    sleep: async (ms) => clock.advance(ms),
  };
}
