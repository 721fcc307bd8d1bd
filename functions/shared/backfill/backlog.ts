/**
 * Backpressure between a history load and the connectors it feeds. The connectors pace themselves at 95 % of
 * each destination's published limits (RatePacer) and take history through their bulk paths, so the load's job
 * is to keep every connector queue stocked, never empty (the destination would idle below its limit) and never
 * deep (live events share these queues and would wait behind the history). Before each chunk the load waits
 * until the deepest target queue is under its high-water mark.
 */

/** Bulk batches held ready per concurrent consumer: enough that a consumer never waits for the next batch. */
export const BATCHES_AHEAD = 4;

export interface QueueDepths {
  /** Visible plus in-flight messages per connector queue. */
  depths(): Promise<Record<string, number>>;
}

export function highWaterMark(batchSize: number, maxConcurrency: number): number {
  return batchSize * maxConcurrency * BATCHES_AHEAD;
}

export function backlogGate(
  queues: QueueDepths,
  highWater: Readonly<Record<string, number>>,
  options: { sleep(ms: number): Promise<void>; pollMs?: number },
): { waitForRoom(): Promise<void> } {
  const pollMs = options.pollMs ?? 1_000;
  return {
    async waitForRoom() {
      for (;;) {
        const depths = await queues.depths();
        const full = Object.entries(depths).some(([name, depth]) => depth >= (highWater[name] ?? Number.POSITIVE_INFINITY));
        if (!full) return;
        await options.sleep(pollMs);
      }
    },
  };
}
