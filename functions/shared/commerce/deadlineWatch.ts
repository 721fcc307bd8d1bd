/**
 * The scheduled acceptance deadline watch. For each marketplace it reads the watch list, drops orders the poller
 * has since seen leave WAITING_ACCEPTANCE (accepted by a person, refused, auto-refused), and raises an
 * `acceptance.deadline-at-risk` exception for every order with less than `acceptance.alarmMarginHours` left. The
 * count per marketplace is returned for the metric the alarm watches.
 */
import type { Config } from '../config';
import type { ExceptionRecorder } from '../exceptions';
import type { OrderSnapshotStore } from '../ingest/ports';
import { deadlinesAtRisk } from './acceptance';
import type { MappingTable } from './mappings';
import { AcceptanceWatchList } from './watchList';

export const WATCH_COMPONENT = 'acceptance-watch';
/** Often enough to warn hours before the margin runs out, rarely enough to cost nothing. */
export const ACCEPTANCE_WATCH_MINUTES = 15;

export interface DeadlineWatchDeps {
  config: Config;
  mappings: MappingTable;
  snapshots: Pick<OrderSnapshotStore, 'load'>;
  exceptions: ExceptionRecorder;
  now: () => Date;
}

export async function watchDeadlines(deps: DeadlineWatchDeps): Promise<{ marketplace: string; waiting: number; atRisk: number }[]> {
  const list = new AcceptanceWatchList(deps.mappings);
  const results: { marketplace: string; waiting: number; atRisk: number }[] = [];
  for (const marketplace of deps.config.marketplaces) {
    const waiting = await list.list(marketplace.id);
    const snapshots = await deps.snapshots.load(marketplace.id, [...waiting.keys()]);
    for (const [orderId, stored] of snapshots) {
      if (stored.snapshot.state !== 'WAITING_ACCEPTANCE') {
        waiting.delete(orderId);
        await list.remove(marketplace.id, orderId);
      }
    }
    const atRisk = deadlinesAtRisk(waiting, deps.now(), marketplace.acceptance.alarmMarginHours);
    for (const order of atRisk) {
      const when = order.hoursLeft > 0 ? `${order.hoursLeft} h left` : 'deadline passed';
      await deps.exceptions.record({
        type: 'acceptance.deadline-at-risk',
        marketplace: marketplace.id,
        ref: order.orderId,
        reason: `order still waiting for acceptance, ${when} before Mirakl auto-refuses it (${order.deadline}): accept or refuse it now`,
        component: WATCH_COMPONENT,
      });
    }
    results.push({ marketplace: marketplace.id, waiting: waiting.size, atRisk: atRisk.length });
  }
  return results;
}
