/**
 * The schedules the stack creates with EventBridge Scheduler: the poller per marketplace every
 * `poll.intervalMinutes` (first run right at start) and the daily sweep at 03:15 UTC. Runs of one marketplace never overlap: a
 * poll tick that finds the previous run still going is skipped, a sweep waits for it. The other scheduled Lambdas
 * (stock runs, acceptance deadline watch) are jobs: each every `intervalMinutes`, first run `JOB_FIRST_RUN_MS` after
 * start (after the first polls), a tick skipped while the previous run is still going.
 */
export type PollerMode = 'poll' | 'sweep';
export interface PollerInput {
  marketplace: string;
  mode: PollerMode;
}

/** Time and timers, injectable so tests drive the schedule without waiting. */
export interface SchedulerClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemSchedulerClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const DAY_MS = 24 * 60 * 60 * 1000;
/** The stack's sweep schedule: daily at a quiet hour, 03:15 UTC. */
export const DEFAULT_SWEEP_AT_UTC = { hour: 3, minute: 15 } as const;

/** Milliseconds from `now` to the next `hour:minute` UTC (a full day when it is exactly now). */
export function msUntilDaily(now: number, at: { hour: number; minute: number }): number {
  const offset = (at.hour * 60 + at.minute) * 60_000;
  const next = Math.floor((now - offset) / DAY_MS) * DAY_MS + offset + DAY_MS;
  return next - now;
}

export interface RunOutcome {
  input: PollerInput;
  ok: boolean;
  durationMs: number;
  error?: Error;
}

export interface ScheduleStats {
  runs: number;
  failures: number;
  /** Poll ticks skipped because the previous run of the marketplace was still going. */
  skipped: number;
  lastRunAt?: number;
  lastError?: string;
}

/** A scheduled Lambda other than the poller, invoked with the input its schedule sends. */
export interface ScheduledJob {
  name: string;
  intervalMinutes: number;
  invoke(): Promise<unknown>;
}

export interface JobOutcome {
  job: string;
  ok: boolean;
  durationMs: number;
  error?: Error;
}

/** Soon after start, not at it: the first polls have put the sandbox's orders on the bus by then. */
export const JOB_FIRST_RUN_MS = 10_000;

export interface SchedulerOptions {
  marketplaces: readonly { id: string; intervalMinutes: number }[];
  invoke(input: PollerInput): Promise<unknown>;
  jobs?: readonly ScheduledJob[];
  clock?: SchedulerClock;
  sweepAtUtc?: { hour: number; minute: number };
  onOutcome?(outcome: RunOutcome): void;
  onJobOutcome?(outcome: JobOutcome): void;
}

export class Scheduler {
  private readonly clock: SchedulerClock;
  private readonly timers = new Set<unknown>();
  private readonly busy = new Map<string, Promise<void>>();
  private readonly stats = new Map<string, ScheduleStats>();
  private readonly jobsBusy = new Map<string, Promise<JobOutcome>>();
  private readonly jobStats = new Map<string, ScheduleStats>();
  private running = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemSchedulerClock;
    for (const mp of options.marketplaces) this.stats.set(mp.id, { runs: 0, failures: 0, skipped: 0 });
    for (const job of options.jobs ?? []) this.jobStats.set(job.name, { runs: 0, failures: 0, skipped: 0 });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const startedAt = this.clock.now();
    for (const mp of this.options.marketplaces) {
      this.every(startedAt, mp.intervalMinutes * 60_000, 0, () => {
        if (this.busy.has(mp.id)) this.stat(mp.id).skipped += 1;
        else void this.run(mp.id, 'poll');
      });
      const firstSweep = msUntilDaily(startedAt, this.options.sweepAtUtc ?? DEFAULT_SWEEP_AT_UTC);
      this.every(startedAt, DAY_MS, firstSweep, () => void this.run(mp.id, 'sweep'));
    }
    for (const job of this.options.jobs ?? []) {
      this.every(startedAt, job.intervalMinutes * 60_000, JOB_FIRST_RUN_MS, () => {
        const stats = this.jobStat(job.name);
        if (this.jobsBusy.has(job.name)) stats.skipped += 1;
        else void this.runJob(job.name);
      });
    }
  }

  /** Fixed-rate schedule anchored at the start, so a slow run does not drift the following ones. */
  private every(anchor: number, intervalMs: number, firstAfterMs: number, tick: () => void): void {
    let next = anchor + firstAfterMs;
    const arm = () => {
      const handle = this.clock.setTimeout(() => {
        this.timers.delete(handle);
        if (!this.running) return;
        tick();
        const now = this.clock.now();
        do next += intervalMs;
        while (next <= now);
        arm();
      }, Math.max(0, next - this.clock.now()));
      this.timers.add(handle);
    };
    arm();
  }

  private stat(marketplace: string): ScheduleStats {
    const stats = this.stats.get(marketplace);
    if (!stats) throw new Error(`no schedule for marketplace "${marketplace}"`);
    return stats;
  }

  /** Runs the poller for one marketplace now, after any run of it still going; resolves with the outcome. */
  async run(marketplace: string, mode: PollerMode): Promise<RunOutcome> {
    const stats = this.stat(marketplace);
    let outcome!: RunOutcome;
    const previous = this.busy.get(marketplace) ?? Promise.resolve();
    const current = previous.then(async () => {
      const input = { marketplace, mode };
      const started = this.clock.now();
      try {
        await this.options.invoke(input);
        outcome = { input, ok: true, durationMs: this.clock.now() - started };
      } catch (error) {
        outcome = { input, ok: false, durationMs: this.clock.now() - started, error: error as Error };
        stats.failures += 1;
        stats.lastError = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 200);
      }
      stats.runs += 1;
      stats.lastRunAt = started;
      this.options.onOutcome?.(outcome);
    });
    this.busy.set(marketplace, current);
    await current;
    if (this.busy.get(marketplace) === current) this.busy.delete(marketplace);
    return outcome;
  }

  private jobStat(name: string): ScheduleStats {
    const stats = this.jobStats.get(name);
    if (!stats) throw new Error(`no scheduled job "${name}"`);
    return stats;
  }

  /** Runs a job now, or joins its run in progress; resolves with the outcome. */
  async runJob(name: string): Promise<JobOutcome> {
    const job = this.options.jobs?.find((j) => j.name === name);
    if (!job) throw new Error(`no scheduled job "${name}"`);
    const inProgress = this.jobsBusy.get(name);
    if (inProgress) return inProgress;
    const stats = this.jobStat(name);
    // Started on a microtask so the run is registered as busy before it can finish.
    const run = Promise.resolve().then(async (): Promise<JobOutcome> => {
      const started = this.clock.now();
      let outcome: JobOutcome;
      try {
        await job.invoke();
        outcome = { job: name, ok: true, durationMs: this.clock.now() - started };
      } catch (error) {
        outcome = { job: name, ok: false, durationMs: this.clock.now() - started, error: error as Error };
        stats.failures += 1;
        stats.lastError = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 200);
      }
      stats.runs += 1;
      stats.lastRunAt = started;
      this.jobsBusy.delete(name);
      this.options.onJobOutcome?.(outcome);
      return outcome;
    });
    this.jobsBusy.set(name, run);
    return run;
  }

  /** Stops the schedules and waits for runs in progress. */
  async stop(): Promise<void> {
    this.running = false;
    for (const handle of this.timers) this.clock.clearTimeout(handle);
    this.timers.clear();
    await Promise.allSettled([...this.busy.values(), ...this.jobsBusy.values()]);
  }

  snapshot(): Record<string, ScheduleStats> {
    return Object.fromEntries([...this.stats].map(([id, stats]) => [id, { ...stats }]));
  }

  jobsSnapshot(): Record<string, ScheduleStats> {
    return Object.fromEntries([...this.jobStats].map(([name, stats]) => [name, { ...stats }]));
  }
}
