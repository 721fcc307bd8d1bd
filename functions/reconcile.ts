/**
 * Daily reconciliation: every marketplace's orders of the last `operations.reconciliation.days` days against
 * what each connector delivered. Missing orders become exceptions; the latest result per marketplace is kept for
 * the console; per-connector figures and the open-exception count go out as metrics for the alarms.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { resolveConfig } from './shared/config';
import { logger, metrics, tracer } from './shared/observability';
import { awsInbox, awsReconcileDeps, awsReconciliations } from './shared/operations/aws';
import { RECONCILE_METRICS, reconcileMarketplace, reconcileWindow, totalsByConnector } from './shared/operations/reconcile';

export const ReconcileInput = z
  .object({ marketplace: z.string().min(1).optional(), days: z.number().int().min(1).max(14).optional() })
  .strict();

const config = resolveConfig();
const deps = awsReconcileDeps(config, { record: true });
const store = awsReconciliations();
const inbox = awsInbox();

async function reconcile(input: z.infer<typeof ReconcileInput>) {
  const now = new Date();
  // The schedule passes the configured window: the deploy-time `operations` block is not in the function's config.
  const days = input.days ?? config.operations.reconciliation.days;
  const window = reconcileWindow(now, new Date(now.getTime() - days * 24 * 3600 * 1000));
  const marketplaces = config.marketplaces.filter((mp) => !input.marketplace || mp.id === input.marketplace);
  const results = [];
  for (const marketplace of marketplaces) {
    const result = await reconcileMarketplace(deps, marketplace, window);
    await store.save(result);
    results.push(result);
  }
  for (const [connector, totals] of totalsByConnector(results)) {
    // One metric set per connector, so each alarm can name its connector.
    const single = metrics.singleMetric();
    single.addDimension('connector', connector);
    single.addMetric(RECONCILE_METRICS.orders, MetricUnit.Count, totals.orders);
    single.addMetric(RECONCILE_METRICS.delivered, MetricUnit.Count, totals.delivered);
    single.addMetric(RECONCILE_METRICS.missing, MetricUnit.Count, totals.missing);
  }
  metrics.addMetric(RECONCILE_METRICS.openExceptions, MetricUnit.Count, await inbox.countOpen());
  const summary = results.map((r) => ({
    marketplace: r.marketplace,
    ordersInMirakl: r.ordersInMirakl,
    connectors: r.connectors.map(({ connector, orders, delivered, missing }) => ({ connector, orders, delivered, missing })),
  }));
  logger.info('reconciliation finished', { window, summary });
  return summary;
}

export const handler = middy(reconcile)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: ReconcileInput }));
