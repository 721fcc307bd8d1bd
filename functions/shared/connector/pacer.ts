/**
 * Client-side pacing under a destination's published burst (per second) and steady (per minute) limits, so a
 * history load runs close to the limit without tripping it. A sliding log is stricter than the fixed windows
 * vendors count in, so staying under it never earns a 429 from our own traffic.
 */
import { setTimeout as delay } from 'node:timers/promises';
export interface RateLimit {
  perSecond: number;
  perMinute: number;
}

export interface PacerOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RatePacer<Op extends string> {
  private readonly sent = new Map<Op, number[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limits: Readonly<Record<Op, RateLimit>>,
    options: PacerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? delay;
  }

  /** Resolves when one more call of `op` stays within both windows; callers are served in order. */
  take(op: Op): Promise<void> {
    const turn = this.queue.then(() => this.wait(op));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async wait(op: Op): Promise<void> {
    const limit = this.limits[op];
    const log = this.sent.get(op) ?? [];
    this.sent.set(op, log);
    for (;;) {
      const now = this.now();
      while (log.length > 0 && (log[0] as number) <= now - 60_000) log.shift();
      const lastSecond = log.filter((t) => t > now - 1_000);
      const waitSecond = lastSecond.length >= limit.perSecond ? (lastSecond[0] as number) + 1_000 - now : 0;
      const waitMinute = log.length >= limit.perMinute ? (log[0] as number) + 60_000 - now : 0;
      const delay = Math.max(waitSecond, waitMinute);
      if (delay <= 0) {
        log.push(now);
        return;
      }
      await this.sleep(delay);
    }
  }
}

/** A share of published limits: `utilisation` of the whole, split between `instances` concurrent callers. */
export function shareOf<Op extends string>(
  limits: Readonly<Record<Op, RateLimit>>,
  utilisation: number,
  instances: number,
): Record<Op, RateLimit> {
  const share = (n: number) => Math.max(1, Math.floor((n * utilisation) / instances));
  return Object.fromEntries(
    Object.entries<RateLimit>(limits).map(([op, l]) => [op, { perSecond: share(l.perSecond), perMinute: share(l.perMinute) }]),
  ) as Record<Op, RateLimit>;
}

/** A limit counted over 60 s only, for a destination that publishes no per-second (burst) figure. */
export const perMinuteOnly = (perMinute: number): RateLimit => ({ perSecond: perMinute, perMinute });

/**
 * A pacer for a destination that models only per-minute budgets (no burst figure): `utilisation` of each budget,
 * split between `instances` concurrent callers.
 */
export function perMinutePacer<Op extends string>(
  perMinute: Readonly<Record<Op, number>>,
  utilisation: number,
  instances: number,
  clock: PacerOptions = {},
): RatePacer<Op> {
  const limits = Object.fromEntries(Object.entries<number>(perMinute).map(([op, n]) => [op, perMinuteOnly(n)])) as Record<Op, RateLimit>;
  return new RatePacer(shareOf(limits, utilisation, instances), clock);
}
