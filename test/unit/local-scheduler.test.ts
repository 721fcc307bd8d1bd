import { describe, expect, it } from 'vitest';
import { msUntilDaily, Scheduler, type PollerInput, type SchedulerClock } from '../../local/scheduler';

/** A clock whose timers fire only when the test advances time. */
function fakeClock(): SchedulerClock & { advance(ms: number): Promise<void>; pending(): number } {
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      timers.set(++nextId, { at: now + ms, callback });
      return nextId;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
    pending: () => timers.size,
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= end).sort(([, a], [, b]) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].callback();
        await new Promise((resolve) => setImmediate(resolve));
      }
      now = end;
    },
  };
}

describe('scheduler', () => {
  it('polls each marketplace right at start and then every interval, and sweeps daily', async () => {
    const clock = fakeClock();
    const calls: (PollerInput & { at: number })[] = [];
    const scheduler = new Scheduler({
      marketplaces: [
        { id: 'debenhams', intervalMinutes: 1 },
        { id: 'decathlon', intervalMinutes: 15 },
      ],
      clock,
      invoke: async (input) => void calls.push({ ...input, at: clock.now() }),
    });
    scheduler.start();
    await clock.advance(0);
    expect(calls).toEqual([
      { marketplace: 'debenhams', mode: 'poll', at: 0 },
      { marketplace: 'decathlon', mode: 'poll', at: 0 },
    ]);
    await clock.advance(15 * 60_000);
    expect(calls.filter((c) => c.marketplace === 'debenhams')).toHaveLength(16);
    expect(calls.filter((c) => c.marketplace === 'decathlon').map((c) => c.at)).toEqual([0, 15 * 60_000]);

    // The clock starts at 00:00 UTC: sweeps at 03:15 UTC, then daily.
    const sweepAt = (3 * 60 + 15) * 60_000;
    await clock.advance(sweepAt + 24 * 3600_000 - 15 * 60_000);
    expect(calls.filter((c) => c.mode === 'sweep').map((c) => [c.marketplace, c.at])).toEqual([
      ['debenhams', sweepAt],
      ['decathlon', sweepAt],
      ['debenhams', sweepAt + 24 * 3600_000],
      ['decathlon', sweepAt + 24 * 3600_000],
    ]);
    await scheduler.stop();
    expect(clock.pending()).toBe(0);
  });

  it('computes the next daily run in UTC', () => {
    const at = { hour: 3, minute: 15 };
    expect(msUntilDaily(Date.UTC(2026, 10, 22, 3, 0), at)).toBe(15 * 60_000);
    expect(msUntilDaily(Date.UTC(2026, 10, 22, 3, 15), at)).toBe(24 * 3600_000);
    expect(msUntilDaily(Date.UTC(2026, 10, 22, 6, 15), at)).toBe(21 * 3600_000);
  });

  it('skips a poll tick while the previous run of the marketplace is still going, and counts failures', async () => {
    const clock = fakeClock();
    let release!: () => void;
    let runs = 0;
    const scheduler = new Scheduler({
      marketplaces: [{ id: 'debenhams', intervalMinutes: 1 }],
      clock,
      invoke: async () => {
        runs += 1;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
        if (runs === 2) throw new Error('Mirakl 503');
      },
    });
    scheduler.start();
    await clock.advance(3 * 60_000);
    expect(runs).toBe(1);
    expect(scheduler.snapshot().debenhams).toMatchObject({ runs: 0, skipped: 3 });
    release();
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(60_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(scheduler.snapshot().debenhams).toMatchObject({ runs: 2, failures: 1, lastError: 'Error: Mirakl 503' });
    await scheduler.stop();
  });

  it('runs on demand after a run in progress, reporting the outcome', async () => {
    const order: string[] = [];
    const scheduler = new Scheduler({
      marketplaces: [{ id: 'debenhams', intervalMinutes: 5 }],
      clock: fakeClock(),
      invoke: async ({ mode }) => {
        order.push(`start ${mode}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        order.push(`end ${mode}`);
      },
    });
    const [poll, sweep] = await Promise.all([scheduler.run('debenhams', 'poll'), scheduler.run('debenhams', 'sweep')]);
    expect(order).toEqual(['start poll', 'end poll', 'start sweep', 'end sweep']);
    expect(poll.ok && sweep.ok).toBe(true);
    await expect(scheduler.run('nowhere', 'poll')).rejects.toThrow(/no schedule/);
  });
});
