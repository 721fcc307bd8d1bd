/**
 * `marketbridge backfill --marketplace ID --from DATE [--to DATE] [--connectors a,b]`: loads past orders as
 * history (see functions/shared/backfill/run). Progress goes to stderr; the final state is one JSON line on stdout.
 * Ctrl-C finishes the chunk in hand and saves; running the same command again continues from there.
 */
import { parseArgs } from 'node:util';
import { formatProgress, progressFigures } from '../functions/shared/backfill/report';
import { awsBackfillDependencies } from '../functions/shared/backfill/awsDependencies';
import { type BackfillRequest, loadIdOf } from '../functions/shared/backfill/progress';
import { type BackfillDependencies, runBackfill } from '../functions/shared/backfill/run';
import { CONNECTOR_NAMES, type Config, type ConnectorName, type MarketplaceConfig, marketplaceById, resolveConfig } from '../functions/shared/config';
import { enabledConnectors } from '../functions/shared/routes';
import { type Output, UsageError } from './io';

export const BACKFILL_USAGE =
  'usage: marketbridge backfill [--config FILE] --marketplace ID --from DATE [--to DATE] [--connectors NAME,…]\n' +
  '  DATE is YYYY-MM-DD (UTC midnight) or ISO 8601; --to defaults to today 00:00 UTC (later orders are the poller\'s),\n' +
  '  so the same command run again the same day resumes the same load.';

/** Progress lines at most this often (every chunk saves, but a terminal need not show each). */
const PROGRESS_EVERY_MS = 1_000;

function instant(name: string, value: string): string {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const time = Date.parse(iso);
  if (Number.isNaN(time)) throw new UsageError(`--${name} is not a date: ${value}`);
  return new Date(time).toISOString();
}

function targets(config: Config, list: string | undefined): ConnectorName[] | undefined {
  if (list === undefined) return undefined;
  const names = [...new Set(list.split(',').map((n) => n.trim()).filter(Boolean))];
  const enabled = enabledConnectors(config);
  for (const name of names) {
    if (!(CONNECTOR_NAMES as readonly string[]).includes(name)) throw new UsageError(`--connectors: unknown connector "${name}"`);
    if (!enabled.includes(name as ConnectorName)) throw new UsageError(`--connectors: "${name}" is not enabled in the configuration`);
  }
  if (names.length === 0) throw new UsageError('--connectors needs at least one connector');
  return names as ConnectorName[];
}

/** Stops on the first SIGINT (after the chunk in hand); a second one is left to Node and ends the process. */
function onInterrupt(out: Output): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    out.error('stopping after the current chunk (Ctrl-C again to quit at once)…');
    controller.abort();
  });
  return controller.signal;
}

export async function backfill(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  depsFor: (config: Config, marketplace: MarketplaceConfig) => BackfillDependencies = awsBackfillDependencies,
  stop: AbortSignal = onInterrupt(out),
  now: () => number = Date.now,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      marketplace: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      connectors: { type: 'string' },
    },
  });
  if (!values.marketplace || !values.from) throw new UsageError(`--marketplace and --from are required\n${BACKFILL_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const marketplace = marketplaceById(config, values.marketplace);
  const today = new Date(now()).toISOString().slice(0, 10);
  const connectors = targets(config, values.connectors);
  const request: BackfillRequest = {
    marketplace: marketplace.id,
    from: instant('from', values.from),
    to: instant('to', values.to ?? today),
    ...(connectors ? { connectors } : {}),
  };
  if (request.from >= request.to) throw new UsageError('--from must be before --to');

  const deps = depsFor(config, marketplace);
  // The rate and ETA count what this run does: a resumed load starts from what was saved.
  const saved = await deps.progress.load(loadIdOf(request));
  const session = { startedAtMs: now(), doneAtStart: saved?.progress.ordersDone ?? 0 };
  if (saved) out.error(`resuming ${saved.progress.loadId} at ${saved.progress.ordersDone} orders`);
  let shownAt = 0;
  const outcome = await runBackfill(deps, marketplace, request, {
    shouldStop: () => stop.aborted,
    onProgress: (progress) => {
      const at = now();
      if (at - shownAt < PROGRESS_EVERY_MS && progress.status !== 'done') return;
      shownAt = at;
      out.error(formatProgress(progress, progressFigures(progress, session, at)));
    },
  });
  const { progress } = outcome;
  out.line({
    kind: 'backfill',
    status: outcome.status,
    loadId: progress.loadId,
    source: progress.source,
    ...(progress.fallbackReason ? { fallbackReason: progress.fallbackReason } : {}),
    orders: progress.ordersDone,
    events: progress.eventsPublished,
  });
  if (outcome.status === 'stopped') out.error('stopped; run the same command again to continue');
  return outcome.status === 'done' ? 0 : 1;
}
