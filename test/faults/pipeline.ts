/**
 * What the fault suites share on one local runtime: waiting until every connector queue is empty, the DLQ checks
 * between scenarios, and a redrive repeated as a second console click would repeat it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, vi } from 'vitest';
import type { ConnectorRuntime, LocalRuntime } from '../../local/runtime';

export const connectorOf = (runtime: LocalRuntime, name: string) => runtime.connectors.find((c) => c.name === name) as ConnectorRuntime;

export interface SettleOptions {
  timeout?: number;
  /**
   * Lets messages waiting out their visibility timeout (a failed receive, a crashed Lambda's batch) back early:
   * once nothing has moved for `quietMs`, longer than any retry wait or request in flight, `pass()` moves the
   * clock past the timeout. Without it the wait is real.
   */
  skipVisibility?: { quietMs: number; pass(): void };
}

/** What moves while connectors work: queue depths, consumer counts, requests the sandboxes answered. */
function activity(runtime: LocalRuntime): string {
  const requests = [runtime.sandbox, ...Object.values(runtime.destinations)].map((s) => (s as { requests?: unknown[] }).requests?.length);
  return JSON.stringify([runtime.connectors.map((c) => [c.queue.depth(), c.dlq.depth(), c.consumer?.stats]), requests]);
}

/** Every connector queue empty: delivered, or moved to its DLQ. */
export async function settled(runtime: LocalRuntime, options: SettleOptions = {}): Promise<void> {
  const { timeout = 60_000, skipVisibility } = options;
  // Elapsed time on the monotonic clock: suites that move Date on must not cut their own waits short.
  const started = performance.now();
  let seen = '';
  let quietSince = started;
  for (;;) {
    const depths = runtime.connectors.map((c) => c.queue.depth());
    if (depths.every((d) => d.visible + d.inFlight === 0)) return;
    const now = performance.now();
    const current = activity(runtime);
    if (current !== seen) {
      seen = current;
      quietSince = now;
    } else if (skipVisibility && now - quietSince >= skipVisibility.quietMs && depths.every((d) => d.visible === 0)) {
      skipVisibility.pass();
      quietSince = now;
    }
    if (now - started > timeout) {
      const waiting = runtime.connectors.filter((c, i) => depths[i]!.visible + depths[i]!.inFlight > 0).map((c) => `${c.name} ${JSON.stringify(c.queue.depth())}`);
      throw new Error(`queues not empty after ${timeout} ms: ${waiting.join(', ')}`);
    }
    await sleep(100);
  }
}

/** Dead letters of the seeded history (orders on SKUs nobody mapped) are expected; scenarios start with none. */
export function emptyDeadLetterQueues(runtime: LocalRuntime): void {
  for (const c of runtime.connectors) while (c.dlq.takeForMove());
}

export function expectNoDeadLetters(runtime: LocalRuntime): void {
  for (const c of runtime.connectors) expect(c.dlq.depth(), c.name).toEqual({ visible: 0, inFlight: 0 });
}

/**
 * Redrives each connector's DLQ twice with the very same messages, as a repeated console click would (the first
 * redrive's messages are kept aside and put back), waiting for the queues to settle after each round.
 */
export async function redriveTwice(runtime: LocalRuntime, names: readonly string[], settle: () => Promise<void>): Promise<void> {
  const kept = names.map((name) => {
    const { dlq } = connectorOf(runtime, name);
    const bodies: string[] = [];
    for (let message = dlq.takeForMove(); message; message = dlq.takeForMove()) bodies.push(message.body);
    return { dlq, queue: connectorOf(runtime, name).queue, bodies };
  });
  for (let round = 1; round <= 2; round++) {
    for (const { dlq, queue, bodies } of kept) {
      for (const body of bodies) dlq.send(body);
      runtime.queues.startMessageMoveTask({ sourceArn: dlq.arn, destinationArn: queue.arn });
    }
    await vi.waitFor(() => expect(kept.map(({ dlq }) => dlq.depth().visible)).toEqual(kept.map(() => 0)), { timeout: 10_000, interval: 50 });
    await settle();
  }
}
