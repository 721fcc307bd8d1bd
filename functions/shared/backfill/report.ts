/** The progress a history load shows: records done/total, rate and ETA over this session (pure, no clock). */
import { type BackfillProgress, expectedTotal } from './progress';

export interface ProgressFigures {
  done: number;
  total?: number;
  /** Orders per second since this session started; undefined before any time has passed. */
  ratePerSecond?: number;
  etaSeconds?: number;
  events: number;
}

/** `session` is where this run started: a resumed load's rate counts only what this run did. */
export function progressFigures(
  progress: BackfillProgress,
  session: { startedAtMs: number; doneAtStart: number },
  nowMs: number,
): ProgressFigures {
  const total = expectedTotal(progress);
  const seconds = (nowMs - session.startedAtMs) / 1000;
  const ratePerSecond = seconds > 0 ? (progress.ordersDone - session.doneAtStart) / seconds : undefined;
  const remaining = total === undefined ? undefined : Math.max(0, total - progress.ordersDone);
  const etaSeconds =
    remaining === undefined || !ratePerSecond ? undefined : progress.status === 'done' ? 0 : Math.ceil(remaining / ratePerSecond);
  return {
    done: progress.ordersDone,
    ...(total === undefined ? {} : { total }),
    ...(ratePerSecond === undefined ? {} : { ratePerSecond }),
    ...(etaSeconds === undefined ? {} : { etaSeconds }),
    events: progress.eventsPublished,
  };
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function formatProgress(progress: BackfillProgress, figures: ProgressFigures): string {
  const where =
    progress.status === 'exporting'
      ? 'waiting for the Mirakl export'
      : progress.source === 'OR13'
        ? `export file ${Math.min(progress.file + 1, progress.urls?.length ?? 0)}/${progress.urls?.length ?? 0}`
        : 'OR11 pages';
  const total = figures.total === undefined ? '?' : String(figures.total);
  const percent = figures.total ? ` (${Math.floor((figures.done / figures.total) * 100)} %)` : '';
  const rate = figures.ratePerSecond === undefined ? '' : `, ${figures.ratePerSecond.toFixed(1)} orders/s`;
  const eta = figures.etaSeconds === undefined ? '' : `, ETA ${duration(figures.etaSeconds)}`;
  return `${progress.request.marketplace}: ${figures.done}/${total} orders${percent}${rate}${eta}, ${figures.events} events; ${where}`;
}
