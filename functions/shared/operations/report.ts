/**
 * The weekly health report, written for the business teams: how many marketplace orders came in, whether every
 * destination got them (and the value of any that did not), which exceptions each team opened and closed, the
 * oldest one still open, DLQ redrives and rate-limit pressure. Counts and record references only.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config, ConnectorName } from '../config';
import { CONNECTOR_METRICS } from '../connector/runtime';
import { EXCEPTION_TYPES, type ExceptionType, type OwningTeam } from '../exceptions';
import { enabledConnectors } from '../routes';
import type { DynamoExceptionInbox, ExceptionEntry } from './inbox';
import { dlqArn, redriveTasks } from './queues';
import { type ReconcileDeps, type Reconciliation, reconcileMarketplace, totalsByConnector } from './reconcile';

const DAY_MS = 24 * 3600 * 1000;
/** The SNS topic the report (and every alarm) goes to; the stack sets it on the report function. */
export const ALERT_TOPIC_ENV = 'ALERT_TOPIC_ARN';

export interface ReportPeriod {
  from: Date;
  to: Date;
}

/** The seven days ending at `end` (exclusive), in whole UTC days. */
export function weekEnding(end: Date): ReportPeriod {
  const to = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()));
  return { from: new Date(to.getTime() - 7 * DAY_MS), to };
}

export interface ReportInput {
  period: ReportPeriod;
  reconciliations: readonly Reconciliation[];
  /** Every inbox entry (open and resolved). */
  exceptions: readonly ExceptionEntry[];
  /** Redrives started per connector (any time; the report keeps those in the period). */
  redrives: Readonly<Record<string, readonly { startedAt: string; moved: number; status: string }[]>>;
  /** 429 answers per connector in the period; undefined when the metrics could not be read. */
  rateLimited?: Readonly<Record<string, number>>;
}

interface TypeCount {
  type: ExceptionType;
  owner: OwningTeam;
  what: string;
  count: number;
}

export interface WeeklyReport {
  period: { from: string; to: string };
  ordersByMarketplace: Record<string, number>;
  connectors: { connector: ConnectorName; orders: number; delivered: number; missing: number; revenueLeakage: Record<string, number> }[];
  exceptions: {
    opened: TypeCount[];
    resolved: TypeCount[];
    openByOwner: Record<string, number>;
    oldestOpen?: { id: string; type: string; owner: string; marketplace: string; ref: string; firstSeen: string; ageDays: number };
  };
  redrives: { connector: string; count: number; moved: number }[];
  rateLimited?: Record<string, number>;
}

function byType(entries: readonly ExceptionEntry[]): TypeCount[] {
  const counts = new Map<ExceptionType, number>();
  for (const entry of entries) counts.set(entry.type, (counts.get(entry.type) ?? 0) + 1);
  return [...counts]
    .map(([type, count]) => ({ type, owner: EXCEPTION_TYPES[type]?.owner ?? 'operations', what: EXCEPTION_TYPES[type]?.what ?? type, count }))
    .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type));
}

export function buildWeeklyReport(input: ReportInput): WeeklyReport {
  const { from, to } = input.period;
  const within = (iso: string | undefined) => iso !== undefined && Date.parse(iso) >= from.getTime() && Date.parse(iso) < to.getTime();
  const ordersByMarketplace = Object.fromEntries(input.reconciliations.map((r) => [r.marketplace, r.ordersInMirakl]));
  const leakage = new Map<ConnectorName, Record<string, number>>();
  for (const result of input.reconciliations.flatMap((r) => r.connectors)) {
    const sum = leakage.get(result.connector) ?? {};
    for (const [currency, value] of Object.entries(result.revenueLeakage)) sum[currency] = Math.round(((sum[currency] ?? 0) + value) * 100) / 100;
    leakage.set(result.connector, sum);
  }
  const connectors = [...totalsByConnector(input.reconciliations)].map(([connector, totals]) => ({
    connector,
    ...totals,
    revenueLeakage: leakage.get(connector) ?? {},
  }));
  const open = input.exceptions.filter((e) => e.status === 'open');
  const openByOwner: Record<string, number> = {};
  for (const entry of open) openByOwner[entry.owner] = (openByOwner[entry.owner] ?? 0) + 1;
  const oldest = [...open].sort((a, b) => a.firstSeen.localeCompare(b.firstSeen))[0];
  return {
    period: { from: from.toISOString(), to: to.toISOString() },
    ordersByMarketplace,
    connectors,
    exceptions: {
      opened: byType(input.exceptions.filter((e) => within(e.firstSeen))),
      resolved: byType(input.exceptions.filter((e) => e.status === 'resolved' && within(e.resolution?.at))),
      openByOwner,
      ...(oldest
        ? {
            oldestOpen: {
              id: oldest.id,
              type: oldest.type,
              owner: oldest.owner,
              marketplace: oldest.marketplace,
              ref: oldest.ref,
              firstSeen: oldest.firstSeen,
              ageDays: Math.floor((to.getTime() - Date.parse(oldest.firstSeen)) / DAY_MS),
            },
          }
        : {}),
    },
    redrives: Object.entries(input.redrives).flatMap(([connector, tasks]) => {
      const inPeriod = tasks.filter((task) => within(task.startedAt));
      return inPeriod.length > 0 ? [{ connector, count: inPeriod.length, moved: inPeriod.reduce((n, t) => n + t.moved, 0) }] : [];
    }),
    ...(input.rateLimited ? { rateLimited: { ...input.rateLimited } } : {}),
  };
}

const day = (iso: string) => iso.slice(0, 10);
const money = (values: Record<string, number>) =>
  Object.entries(values)
    .map(([currency, value]) => `${value.toFixed(2)} ${currency}`)
    .join(' + ');

/** An e-mail subject (SNS: at most 100 characters). */
export function reportSubject(report: WeeklyReport): string {
  return `MarketBridge weekly health report, week to ${day(new Date(Date.parse(report.period.to) - DAY_MS).toISOString())}`;
}

/** Plain text for an e-mail: sentences a buyer-facing team reads, not metric names. */
export function renderWeeklyReport(report: WeeklyReport): string {
  const lastDay = day(new Date(Date.parse(report.period.to) - DAY_MS).toISOString());
  const lines: string[] = [`MarketBridge weekly health report, ${day(report.period.from)} to ${lastDay} (UTC)`, ''];
  lines.push('Marketplace orders (updated this week)');
  for (const [marketplace, count] of Object.entries(report.ordersByMarketplace)) lines.push(`  ${marketplace}: ${count}`);
  lines.push('', 'Delivery to each destination');
  if (report.connectors.length === 0) lines.push('  No destination is enabled.');
  for (const c of report.connectors) {
    const gap = c.missing === 0 ? 'nothing missing' : `${c.missing} missing, worth ${money(c.revenueLeakage)}: see the "reconciliation.missing" exceptions`;
    lines.push(`  ${c.connector}: ${c.delivered} of ${c.orders} orders complete, ${gap}`);
  }
  lines.push('', 'Exceptions opened this week, by owning team');
  if (report.exceptions.opened.length === 0) lines.push('  None.');
  for (const t of report.exceptions.opened) lines.push(`  ${t.owner}: ${t.count} × ${t.type} (${t.what})`);
  lines.push('', 'Exceptions resolved this week');
  if (report.exceptions.resolved.length === 0) lines.push('  None.');
  for (const t of report.exceptions.resolved) lines.push(`  ${t.owner}: ${t.count} × ${t.type}`);
  const owners = Object.entries(report.exceptions.openByOwner);
  lines.push('', `Still open: ${owners.length === 0 ? 'none' : owners.map(([owner, n]) => `${owner} ${n}`).join(', ')}`);
  const oldest = report.exceptions.oldestOpen;
  if (oldest) {
    lines.push(`Oldest open: ${oldest.type} on ${oldest.marketplace} record ${oldest.ref}, open ${oldest.ageDays} day(s), owner ${oldest.owner} (id ${oldest.id})`);
  }
  lines.push('', 'Dead-letter redrives');
  if (report.redrives.length === 0) lines.push('  None this week.');
  for (const r of report.redrives) lines.push(`  ${r.connector}: ${r.count} redrive(s), ${r.moved} record(s) sent again`);
  lines.push('', 'Rate-limit pressure (answers asking us to slow down; retried automatically)');
  if (!report.rateLimited) lines.push('  Not available (CloudWatch metrics could not be read).');
  else if (Object.keys(report.rateLimited).length === 0) lines.push('  No destination is enabled.');
  else for (const [connector, count] of Object.entries(report.rateLimited)) lines.push(`  ${connector}: ${count}`);
  lines.push('', 'What to do: each team works through its open exceptions (marketbridge exceptions list --owner TEAM); see docs/operations.md.');
  return lines.join('\n');
}

/** 429 answers per connector over the period, from the connectors' `RateLimited` metric in the stack's namespace. */
export async function rateLimitedByConnector(
  cloudwatch: CloudWatchClient,
  namespace: string,
  connectors: readonly ConnectorName[],
  period: ReportPeriod,
): Promise<Record<string, number>> {
  if (connectors.length === 0) return {};
  const seconds = Math.round((period.to.getTime() - period.from.getTime()) / 1000);
  const result = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: period.from,
      EndTime: period.to,
      MetricDataQueries: connectors.map((connector, i) => ({
        Id: `c${i}`,
        MetricStat: {
          Metric: {
            Namespace: namespace,
            MetricName: CONNECTOR_METRICS.rateLimited,
            Dimensions: [
              { Name: 'service', Value: connector },
              { Name: 'connector', Value: connector },
            ],
          },
          Period: seconds,
          Stat: 'Sum',
        },
      })),
    }),
  );
  return Object.fromEntries(
    connectors.map((connector, i) => {
      const values = result.MetricDataResults?.find((r) => r.Id === `c${i}`)?.Values ?? [];
      return [connector, values.reduce((a, b) => a + b, 0)];
    }),
  );
}

export interface ReportDeps {
  config: Config;
  /** Read-only: the report never records exceptions. */
  reconcile: Omit<ReconcileDeps, 'exceptions'>;
  inbox: Pick<DynamoExceptionInbox, 'list'>;
  sqs: SQSClient;
  /** The deployment's stack: its connector queues are named after it (connectorQueueNames), its metrics namespace is it. */
  stack: string;
  /** Absent where CloudWatch is not reachable (the local runtime). */
  cloudwatch?: CloudWatchClient;
}

/** Gathers the week's figures: a read-only reconciliation, the inbox, the DLQs' redrives and the 429 counts. */
export async function gatherWeeklyReport(deps: ReportDeps, period: ReportPeriod): Promise<WeeklyReport> {
  const reconciliations: Reconciliation[] = [];
  for (const marketplace of deps.config.marketplaces) {
    reconciliations.push(await reconcileMarketplace(deps.reconcile, marketplace, { since: period.from, until: period.to }));
  }
  const connectors = enabledConnectors(deps.config);
  const redrives: Record<string, { startedAt: string; moved: number; status: string }[]> = {};
  for (const connector of connectors) redrives[connector] = await redriveTasks(deps.sqs, await dlqArn(deps.sqs, deps.stack, connector), 10);
  let rateLimited: Record<string, number> | undefined;
  if (deps.cloudwatch) {
    try {
      rateLimited = await rateLimitedByConnector(deps.cloudwatch, deps.stack, connectors, period);
    } catch {
      rateLimited = undefined; // The report goes out without this section rather than not at all.
    }
  }
  return buildWeeklyReport({
    period,
    reconciliations,
    exceptions: await deps.inbox.list({ status: 'all', limit: 10_000 }),
    redrives,
    ...(rateLimited ? { rateLimited } : {}),
  });
}
