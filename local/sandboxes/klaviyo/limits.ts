/**
 * Klaviyo's per-endpoint rate limits as it applies them: fixed one-second (burst) and one-minute (steady) windows
 * per account; a request over either is answered 429 with `Retry-After` in seconds.
 */
import type { RateLimit } from '../../../functions/shared/connector/pacer';

interface Windows {
  second: number;
  secondCount: number;
  minute: number;
  minuteCount: number;
}

export class FixedWindowLimiter {
  private readonly windows = new Map<string, Windows>();

  constructor(
    private readonly limits: Readonly<Record<string, RateLimit>>,
    private readonly now: () => number,
  ) {}

  limitOf(route: string): RateLimit | undefined {
    return this.limits[route];
  }

  /** Counts the request, or returns the seconds to wait when a window is full (the request is not counted). */
  admit(route: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const limit = this.limits[route];
    if (!limit) return { ok: true };
    const now = this.now();
    const second = Math.floor(now / 1000);
    const minute = Math.floor(now / 60_000);
    const w = this.windows.get(route) ?? { second, secondCount: 0, minute, minuteCount: 0 };
    if (w.second !== second) Object.assign(w, { second, secondCount: 0 });
    if (w.minute !== minute) Object.assign(w, { minute, minuteCount: 0 });
    this.windows.set(route, w);
    if (w.minuteCount >= limit.perMinute) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - now) / 1000)) };
    }
    if (w.secondCount >= limit.perSecond) return { ok: false, retryAfterSeconds: 1 };
    w.secondCount += 1;
    w.minuteCount += 1;
    return { ok: true };
  }

  reset(): void {
    this.windows.clear();
  }
}
