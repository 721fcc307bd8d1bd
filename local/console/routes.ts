/**
 * The operations console on the local runtime: the web page and the JSON API it reads. The inbox, reconciliation
 * and redrive go through the same AWS SDK code as the CLI (against the emulators), so what the console shows is
 * what `marketbridge exceptions|reconcile|redrive` would. Responses carry counts, record references and reasons,
 * never buyer data.
 */
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config, ConnectorName } from '../../functions/shared/config';
import { awsReconcileDeps, awsReconciliations, awsRetryDeps } from '../../functions/shared/operations/aws';
import { type ExceptionFilter, NotFoundError, NotRetryableError, retryException } from '../../functions/shared/operations/inbox';
import { connectorQueues, DEFAULT_STACK_NAME, startRedrive } from '../../functions/shared/operations/queues';
import { reconcileMarketplace, reconcileWindow } from '../../functions/shared/operations/reconcile';
import type { LoggedEvent } from '../bus';
import type { ApiResponse, ApiRoute } from '../console-server';

const PAGE = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

export interface ConsoleSources {
  config: Config;
  /** The connectors the runtime runs, with their consumers' counts. */
  connectors: readonly { name: string; consumer?: { stats: { deletedRecords: number; failedRecords: number } } }[];
  events(): readonly LoggedEvent[];
}

const ok = (body: unknown): ApiResponse => ({ status: 200, body });
const problem = (status: number, error: string): ApiResponse => ({ status, body: { error } });

/** Events routed from each marketplace to each connector: the flow the page draws. */
function flows(sources: ConsoleSources) {
  const counts = new Map<string, number>();
  const totals = new Map<string, number>();
  for (const { event, routedTo } of sources.events()) {
    const marketplace = String(event.detail.marketplace ?? 'unknown');
    totals.set(marketplace, (totals.get(marketplace) ?? 0) + 1);
    for (const connector of routedTo) counts.set(`${marketplace} ${connector}`, (counts.get(`${marketplace} ${connector}`) ?? 0) + 1);
  }
  return {
    marketplaces: sources.config.marketplaces.map((mp) => ({ id: mp.id, name: mp.name, events: totals.get(mp.id) ?? 0 })),
    // Only the connectors that take the marketplace (a connector may be limited to some marketplaces).
    flows: sources.config.marketplaces.flatMap((mp) =>
      sources.connectors
        .filter((c) => {
          const only = sources.config.connectors[c.name as ConnectorName]?.marketplaces ?? [];
          return only.length === 0 || only.includes(mp.id);
        })
        .map((c) => ({ marketplace: mp.id, connector: c.name, routed: counts.get(`${mp.id} ${c.name}`) ?? 0 })),
    ),
  };
}

function exceptionFilter(query: URLSearchParams): ExceptionFilter {
  const status = query.get('status') ?? 'open';
  return {
    status: status === 'resolved' || status === 'all' ? status : 'open',
    ...Object.fromEntries(['type', 'marketplace', 'owner'].flatMap((key) => (query.get(key) ? [[key, query.get(key) as string]] : []))),
  };
}

/** The console's routes; the AWS clients are made on first use, after the runtime has set the environment. */
export function consoleRoutes(sources: ConsoleSources): ApiRoute[] {
  let clients: { sqs: SQSClient; retry: ReturnType<typeof awsRetryDeps>; reconciliations: ReturnType<typeof awsReconciliations> } | undefined;
  const aws = () => (clients ??= { sqs: new SQSClient({}), retry: awsRetryDeps(), reconciliations: awsReconciliations() });
  const known = (name: string) => sources.connectors.some((c) => c.name === name);

  return [
    { method: 'GET', path: '/', handle: () => ({ status: 200, body: PAGE, contentType: 'text/html; charset=utf-8' }) },
    { method: 'GET', path: '/api/flows', handle: () => ok(flows(sources)) },
    {
      method: 'GET',
      path: '/api/queues',
      handle: async () =>
        ok({
          queues: await Promise.all(
            sources.connectors.map(async (c) => ({
              ...(await connectorQueues(aws().sqs, DEFAULT_STACK_NAME, c.name)),
              consuming: c.consumer !== undefined,
              processed: c.consumer?.stats.deletedRecords ?? 0,
              failed: c.consumer?.stats.failedRecords ?? 0,
            })),
          ),
        }),
    },
    {
      method: 'POST',
      path: '/api/queues/{name}/redrive',
      handle: async ({ params, body }) => {
        if (!known(params.name ?? '')) return problem(404, `no connector queue "${params.name}"`);
        const rate = (body as { maxPerSecond?: unknown } | undefined)?.maxPerSecond;
        if (rate !== undefined && !(typeof rate === 'number' && Number.isInteger(rate) && rate >= 1 && rate <= 500)) {
          return problem(400, 'maxPerSecond must be an integer from 1 to 500');
        }
        try {
          return ok(await startRedrive(aws().sqs, DEFAULT_STACK_NAME, params.name as string, rate));
        } catch (error) {
          // SQS refuses a second move while one runs: say so rather than fail.
          return problem(409, (error as Error).message);
        }
      },
    },
    { method: 'GET', path: '/api/exceptions', handle: async ({ query }) => ok({ exceptions: await aws().retry.inbox.list(exceptionFilter(query)) }) },
    {
      method: 'POST',
      path: '/api/exceptions/{id}/retry',
      handle: async ({ params }) => {
        try {
          return ok(await retryException(aws().retry, params.id as string));
        } catch (error) {
          if (error instanceof NotFoundError) return problem(404, error.message);
          if (error instanceof NotRetryableError) return problem(409, error.message);
          throw error;
        }
      },
    },
    {
      method: 'POST',
      path: '/api/exceptions/{id}/resolve',
      handle: async ({ params, body }) => {
        const note = (body as { note?: unknown } | undefined)?.note;
        if (typeof note !== 'string' || note.trim() === '') return problem(400, 'a note is required: say what was done');
        try {
          return ok({ exception: await aws().retry.inbox.resolve(params.id as string, note.trim()) });
        } catch (error) {
          if (error instanceof NotFoundError) return problem(404, error.message);
          throw error;
        }
      },
    },
    {
      method: 'GET',
      path: '/api/reconciliation',
      handle: async () => {
        const latest = await Promise.all(sources.config.marketplaces.map((mp) => aws().reconciliations.latest(mp.id)));
        return ok({ reconciliations: latest.filter((r) => r !== undefined) });
      },
    },
    {
      method: 'POST',
      path: '/api/reconciliation',
      handle: async () => {
        // Locally there is no settle margin: the pipeline delivers within seconds. Each marketplace waits for its own
        // OR11 slot (Mirakl's call-frequency contract), so they run side by side: about a minute at most.
        const deps = awsReconcileDeps(sources.config, { record: true });
        const now = new Date();
        const window = reconcileWindow(now, new Date(now.getTime() - sources.config.operations.reconciliation.days * 24 * 3600 * 1000), 0);
        const results = await Promise.all(
          sources.config.marketplaces.map(async (marketplace) => {
            const result = await reconcileMarketplace(deps, marketplace, window);
            await aws().reconciliations.save(result);
            return result;
          }),
        );
        return ok({ reconciliations: results });
      },
    },
  ];
}
