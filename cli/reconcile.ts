/**
 * `marketbridge reconcile --marketplace ID --since DATE [--until DATE] [--json]`: Mirakl orders updated in the
 * window against what each connector delivered; missing orders are listed (and recorded as exceptions) with
 * their value. Exit 1 when anything is missing. Needs the state, idempotency and exceptions tables and the
 * marketplace's Mirakl key (AWS variables, or the local runtime's emulators).
 */
import { parseArgs } from 'node:util';
import { type Config, marketplaceById, resolveConfig } from '../functions/shared/config';
import { awsReconcileDeps, awsReconciliations } from '../functions/shared/operations/aws';
import { type Reconciliation, type ReconcileDeps, reconcileMarketplace, reconcileWindow } from '../functions/shared/operations/reconcile';
import { type Output, printText, UsageError } from './io';

export const RECONCILE_USAGE =
  'usage: marketbridge reconcile [--config FILE] --marketplace ID --since DATE [--until DATE] [--json]   (exit 1 when orders are missing)';

/** Delivery records live 15 days (the idempotency TTL): older windows would report delivered orders as missing. */
const MAX_DAYS = 14;

export interface ReconcileCliDeps {
  reconcile: ReconcileDeps;
  save(reconciliation: Reconciliation): Promise<void>;
}

function awsDeps(config: Config): ReconcileCliDeps {
  try {
    const store = awsReconciliations();
    return { reconcile: awsReconcileDeps(config, { record: true }), save: (r) => store.save(r) };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}: set the table variables to the deployment's (stack outputs)`);
  }
}

function date(value: string, name: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new UsageError(`${name} must be a date (YYYY-MM-DD or ISO 8601), got "${value}"`);
  return parsed;
}

export function formatReconciliation(r: Reconciliation): string[] {
  const lines = [`${r.marketplace}: ${r.ordersInMirakl} Mirakl order(s) updated ${r.since} → ${r.until}`];
  for (const c of r.connectors) {
    const leakage = Object.entries(c.revenueLeakage).map(([currency, value]) => `${value.toFixed(2)} ${currency}`).join(' + ') || '0';
    lines.push(`  ${c.connector.padEnd(18)} orders ${c.orders}  delivered ${c.delivered}  missing ${c.missing}  revenue leakage ${leakage}`);
    for (const m of c.missingOrders) lines.push(`    missing ${m.orderId} (${m.total} ${m.currency}): ${m.missing.join(', ')}`);
  }
  return lines;
}

export async function reconcile(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  depsFor: (config: Config) => ReconcileCliDeps = awsDeps,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, marketplace: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: false,
  });
  if (!values.marketplace || !values.since) throw new UsageError(`--marketplace and --since are required\n${RECONCILE_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const marketplace = marketplaceById(config, values.marketplace);
  const now = new Date();
  const since = date(values.since, '--since');
  const window = values.until ? { since, until: date(values.until, '--until') } : reconcileWindow(now, since);
  if (now.getTime() - since.getTime() > MAX_DAYS * 24 * 3600 * 1000) {
    out.error(`warning: --since is more than ${MAX_DAYS} days ago; delivery records expire after 15 days, so older orders show as missing`);
  }
  const deps = depsFor(config);
  const result = await reconcileMarketplace(deps.reconcile, marketplace, window);
  await deps.save(result);
  if (values.json) out.line(result);
  else for (const line of formatReconciliation(result)) printText(out, line);
  return result.connectors.some((c) => c.missing > 0) ? 1 : 0;
}
