/**
 * Virtual time for the destination benchmarks: the pacers' waits, the HTTP layer's retry waits, async-import polls
 * and the sandboxes' rate-limit windows all read one clock, which jumps instead of waiting, so minutes of paced
 * traffic take seconds. Request latency adds no virtual time, which makes a measured rate an upper bound of what
 * the pacing allows; the sandboxes' 429s on the same clock keep it honest.
 *
 * The clock moves to the earliest wake-up (waking every wait due then) only once nothing else can happen first:
 * after a turn of the event loop (so woken work has run up to its next wait or request), with no request sent
 * through `fetch` still unanswered, and with every worker of `concurrently` waiting. A lone caller's wait moves it
 * at once; concurrent connector instances, and several imports in flight within one, wait for each other as they
 * would in real time. Requests made with another fetch are not seen: use this one wherever waits run concurrently.
 */
export const BENCH_START = Date.parse('2026-11-22T00:00:00Z');

export class VirtualTime {
  private at: number;
  private readonly timers: { at: number; wake: () => void }[] = [];
  private workers = 0;
  private requests = 0;
  private scheduled = false;

  constructor(start = BENCH_START) {
    this.at = start;
  }

  readonly now = (): number => this.at;

  readonly sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      this.timers.push({ at: this.at + Math.max(0, ms), wake });
      this.schedule();
    });

  /** `fetch` whose requests hold the clock until answered, body included. */
  readonly fetch: typeof fetch = async (input, init) => {
    this.requests += 1;
    try {
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(response.status === 204 || response.status === 304 ? null : body, response);
    } finally {
      this.requests -= 1;
      this.schedule();
    }
  };

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
          this.schedule();
        }
      }),
    );
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.advance();
    });
  }

  private advance(): void {
    if (this.timers.length === 0 || this.requests > 0 || this.timers.length < this.workers) return;
    // Earliest first; among equal times, first come first woken (the sort is stable).
    this.timers.sort((a, b) => a.at - b.at);
    const due = (this.timers[0] as { at: number }).at;
    this.at = Math.max(this.at, due);
    const later = this.timers.findIndex((t) => t.at > due);
    for (const timer of this.timers.splice(0, later === -1 ? this.timers.length : later)) timer.wake();
  }
}
