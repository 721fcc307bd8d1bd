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
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';

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

/** A Mirakl sandbox for one marketplace holding `count` past orders, accepted and debited (and shipped if asked). */
export async function pastOrdersSandbox(options: {
  apiKey: string;
  clock?: () => number;
  count: number;
  first: string;
  everyMs: number;
  shipped?: boolean;
  maxOrdersPerFile?: number;
}): Promise<MiraklSandbox> {
  const clock = options.clock;
  const sandbox = await startMiraklSandbox({
    port: 0,
    ...(clock ? { clock: () => new Date(clock()) } : {}),
    marketplaces: [{ id: 'debenhams', apiKey: options.apiKey, currency: 'GBP' }],
    ...(options.maxOrdersPerFile ? { exports: { maxOrdersPerFile: options.maxOrdersPerFile } } : {}),
  });
  for (let i = 0; i < options.count; i += 1) {
    const order = sandbox.world.createOrder('debenhams', { createdAt: new Date(Date.parse(options.first) + i * options.everyMs) });
    sandbox.world.accept('debenhams', order.order_id);
    sandbox.world.debit('debenhams', order.order_id);
    if (options.shipped) sandbox.world.ship('debenhams', order.order_id);
  }
  return sandbox;
}
