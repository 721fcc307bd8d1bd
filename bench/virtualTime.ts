/**
 * Virtual time for the destination benchmarks: the pacers' waits, the HTTP layer's retry waits, async-import polls
 * and the sandboxes' rate-limit windows all read one clock, which jumps instead of waiting, so minutes of paced
 * traffic take seconds. Request latency adds no virtual time, which makes a measured rate an upper bound of what
 * the pacing allows; the sandboxes' 429s on the same clock keep it honest.
 *
 * A lone caller's wait moves the clock at once. Workers run with `concurrently` (connector instances, as an event
 * source's maximum concurrency runs them) wait for each other: the clock moves to the earliest wake-up only when
 * every running worker is waiting, so their waits overlap as they would in real time.
 */
export const BENCH_START = Date.parse('2026-11-22T00:00:00Z');

export class VirtualTime {
  private at: number;
  private readonly timers: { at: number; wake: () => void }[] = [];
  private workers = 0;

  constructor(start = BENCH_START) {
    this.at = start;
  }

  readonly now = (): number => this.at;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      this.timers.push({ at: this.at + Math.max(0, ms), wake });
      this.advance();
    });

  /**
   * Runs `tasks` as concurrent workers. They must not wait on each other except through time (each its own
   * connector instance), or the clock would wait for a worker that waits for it.
   */
  async concurrently<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
    this.workers += tasks.length;
    return Promise.all(
      tasks.map(async (task) => {
        try {
          return await task();
        } finally {
          this.workers -= 1;
          this.advance();
        }
      }),
    );
  }

  private advance(): void {
    if (this.timers.length === 0 || this.timers.length < this.workers) return;
    // Earliest first; among equal times, first come first woken (the sort is stable).
    this.timers.sort((a, b) => a.at - b.at);
    const next = this.timers.shift() as { at: number; wake: () => void };
    this.at = Math.max(this.at, next.at);
    next.wake();
  }
}
