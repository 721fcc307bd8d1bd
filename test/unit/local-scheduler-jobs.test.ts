import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOB_FIRST_RUN_MS, Scheduler, type JobOutcome, type ScheduledJob } from '../../local/scheduler';

/** Vitest's fake timers drive the scheduler's default (system) clock. */
beforeEach(() => void vi.useFakeTimers({ now: 0 }));
afterEach(() => void vi.useRealTimers());

function scheduler(jobs: ScheduledJob[], onJobOutcome?: (outcome: JobOutcome) => void) {
  return new Scheduler({ marketplaces: [], invoke: async () => undefined, jobs, ...(onJobOutcome ? { onJobOutcome } : {}) });
}

describe('scheduler: the other scheduled Lambdas', () => {
  it('runs each job soon after start, then at its interval', async () => {
    const runs: Record<string, number[]> = { stock: [], watch: [] };
    const s = scheduler([
      { name: 'stock', intervalMinutes: 5, invoke: async () => void runs.stock?.push(Date.now()) },
      { name: 'watch', intervalMinutes: 15, invoke: async () => void runs.watch?.push(Date.now()) },
    ]);
    s.start();
    await vi.advanceTimersByTimeAsync(JOB_FIRST_RUN_MS - 1);
    expect(runs.stock).toEqual([]);
    await vi.advanceTimersByTimeAsync(15 * 60_000 + 1);
    const first = JOB_FIRST_RUN_MS;
    expect(runs.stock).toEqual([first, first + 5 * 60_000, first + 10 * 60_000, first + 15 * 60_000]);
    expect(runs.watch).toEqual([first, first + 15 * 60_000]);
    expect(s.jobsSnapshot().stock).toMatchObject({ runs: 4, failures: 0, skipped: 0 });
    await s.stop();
    await vi.advanceTimersByTimeAsync(60 * 60_000);
    expect(runs.stock).toHaveLength(4);
  });

  it('skips a tick while the previous run is still going, and runJob joins that run', async () => {
    let release!: () => void;
    let started = 0;
    const s = scheduler([
      {
        name: 'slow',
        intervalMinutes: 1,
        invoke: () => {
          started += 1;
          return new Promise<void>((resolve) => (release = resolve));
        },
      },
    ]);
    s.start();
    await vi.advanceTimersByTimeAsync(JOB_FIRST_RUN_MS + 2 * 60_000);
    expect(started).toBe(1);
    expect(s.jobsSnapshot().slow?.skipped).toBe(2);
    const joined = s.runJob('slow');
    release();
    expect(await joined).toMatchObject({ job: 'slow', ok: true });
    expect(started).toBe(1);
    await s.stop();
  });

  it('records a failed run and reports it; an unknown job is refused', async () => {
    const outcomes: JobOutcome[] = [];
    const s = scheduler([{ name: 'broken', intervalMinutes: 5, invoke: async () => Promise.reject(new TypeError('no table')) }], (o) =>
      outcomes.push(o),
    );
    const outcome = await s.runJob('broken');
    expect(outcome).toMatchObject({ ok: false, error: expect.any(TypeError) });
    expect(outcomes).toEqual([outcome]);
    expect(s.jobsSnapshot().broken).toMatchObject({ runs: 1, failures: 1, lastError: 'TypeError: no table' });
    await expect(s.runJob('nope')).rejects.toThrow('no scheduled job "nope"');
  });
});
