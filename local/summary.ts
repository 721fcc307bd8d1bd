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
