/**
 * The compact live summary `npm start` prints: counts only (events by detail type per marketplace, exceptions by
 * type, poll runs, queue and DLQ depths), never a record's content, so it carries no personal data.
 */
import type { ScheduleStats } from './scheduler';

export interface QueueSummary {
  connector: string;
  consuming: boolean;
  visible: number;
  inFlight: number;
  deadLettered: number;
  /** Records the connector finished (deleted from the queue) and records it reported or threw on. */
  processed: number;
  failed: number;
}

export interface RuntimeSnapshot {
  at: string;
  events: { total: number; byMarketplace: Record<string, Record<string, number>> };
  /** Undefined when the exceptions table could not be read. */
  exceptions?: { open: number; byType: Record<string, number> };
  polls: Record<string, ScheduleStats>;
  /** The other scheduled Lambdas (stock runs, acceptance watch), by job name. */
  schedules?: Record<string, ScheduleStats>;
  /** Return-path and other Mirakl calls the sandbox answered, by operation. */
  miraklCalls?: Record<string, { ok: number; failed: number }>;
  /** STO01 imports the Mirakl sandbox received, by marketplace. */
  stockImports?: Record<string, { imports: number; lines: number; linesInError: number }>;
  /** Counts a destination sandbox reports about itself (the SFCC warehouse), by connector. */
  destinations?: Record<string, Record<string, number>>;
  queues: QueueSummary[];
  putEventsFaultsInjected: number;
}

/** "Order Incident Opened" → "Incident Opened": the source is implied by the marketplace column. */
function shortType(detailType: string): string {
  return detailType.replace(/^Order /, '');
}

function counts(record: Record<string, number>): string {
  return Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}

export function formatSummary(snapshot: RuntimeSnapshot): string {
  const time = snapshot.at.slice(11, 19);
  const lines = [`[${time}] events ${snapshot.events.total}`];
  for (const [marketplace, byType] of Object.entries(snapshot.events.byMarketplace).sort(([a], [b]) => a.localeCompare(b))) {
    const polls = snapshot.polls[marketplace];
    const pollText = polls ? ` | polls ${polls.runs}${polls.failures ? `, ${polls.failures} failed` : ''}` : '';
    lines.push(`  ${marketplace}: ${counts(Object.fromEntries(Object.entries(byType).map(([t, n]) => [shortType(t), n])))}${pollText}`);
  }
  for (const [marketplace, polls] of Object.entries(snapshot.polls)) {
    if (snapshot.events.byMarketplace[marketplace]) continue;
    lines.push(`  ${marketplace}: no events yet | polls ${polls.runs}${polls.failures ? `, ${polls.failures} failed` : ''}`);
  }
  for (const [marketplace, polls] of Object.entries(snapshot.polls)) {
    if (polls.lastError) lines.push(`  ${marketplace} last poll error: ${polls.lastError}`);
  }
  const miraklCalls = snapshot.miraklCalls ?? {};
  const returnPath = ['OR21', 'OR23', 'OR24', 'ST01', 'SH21', 'STO02', 'STO03']
    .filter((op) => miraklCalls[op])
    .map((op) => {
      const calls = miraklCalls[op] as { ok: number; failed: number };
      return `${op} ${calls.ok}${calls.failed ? ` (+${calls.failed} refused)` : ''}`;
    });
  const imports = Object.entries(snapshot.stockImports ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([mp, t]) => `${mp} ${t.imports} (${t.lines} lines${t.linesInError ? `, ${t.linesInError} in error` : ''})`);
  if (returnPath.length > 0 || imports.length > 0) {
    lines.push(`  mirakl return path: ${returnPath.join(', ') || 'no calls yet'} | STO01 ${imports.join(', ') || '0'}`);
  }
  for (const [name, stats] of Object.entries(snapshot.destinations ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${name} sandbox: ${Object.entries(stats).map(([key, n]) => `${key} ${n}`).join(', ')}`);
  }
  const schedules = Object.entries(snapshot.schedules ?? {}).map(
    ([job, s]) => `${job} ${s.runs}${s.failures ? ` (${s.failures} failed)` : ''}${s.skipped ? ` (${s.skipped} skipped)` : ''}`,
  );
  if (schedules.length > 0) lines.push(`  scheduled runs: ${schedules.join(', ')}`);
  for (const [job, s] of Object.entries(snapshot.schedules ?? {})) {
    if (s.lastError) lines.push(`  ${job} last error: ${s.lastError}`);
  }
  if (snapshot.exceptions) {
    const byType = counts(snapshot.exceptions.byType);
    lines.push(`  exceptions open ${snapshot.exceptions.open}${byType ? ` (${byType})` : ''}`);
  }
  if (snapshot.queues.length === 0) {
    lines.push('  queues: no connector enabled');
  } else {
    for (const q of snapshot.queues) {
      const work = q.consuming ? `done ${q.processed}, failed ${q.failed}` : 'no handler yet';
      lines.push(`  ${q.connector}: queued ${q.visible}, in flight ${q.inFlight}, DLQ ${q.deadLettered} | ${work}`);
    }
  }
  if (snapshot.putEventsFaultsInjected > 0) {
    lines.push(`  PutEvents entries failed by injection: ${snapshot.putEventsFaultsInjected}`);
  }
  return lines.join('\n');
}
