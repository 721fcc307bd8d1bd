/**
 * Scheduled ingest for one marketplace: `{ marketplace, mode: 'poll' }` every poll interval, `mode: 'sweep'`
 * daily. Thin: parse the input, run the ingest, report metrics (cursor lag feeds the poller alarm).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { awsIngestDependencies } from './shared/aws/ingestDependencies';
import { marketplaceById, resolveConfig } from './shared/config';
import { type IngestReport, runIngest } from './shared/ingest/ingestRun';
import { logger, metrics, tracer } from './shared/observability';

export const PollerInput = z
  .object({ marketplace: z.string().min(1), mode: z.enum(['poll', 'sweep']).default('poll') })
  .strict();

const config = resolveConfig();
const deps = awsIngestDependencies(config);

/**
 * Per-marketplace metrics as single metrics, each flushed at once: the dimension never leaks between invocations of
 * a warm process, and no end-of-invocation flush is needed.
 */
function recordMetric(marketplace: string, name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void {
  const metric = metrics.singleMetric();
  metric.addDimension('marketplace', marketplace);
  metric.addMetric(name, unit, value);
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

async function ingest(input: z.infer<typeof PollerInput>): Promise<IngestReport> {
  const marketplace = marketplaceById(config, input.marketplace);
  logger.appendKeys({ marketplace: marketplace.id, mode: input.mode });
  try {
    const report = await runIngest(deps, marketplace, input.mode);
    recordMetric(marketplace.id, 'EventsPublished', MetricUnit.Count, total(report.events));
    recordMetric(marketplace.id, 'ExceptionsRecorded', MetricUnit.Count, total(report.exceptions));
    recordMetric(marketplace.id, 'OrdersRead', MetricUnit.Count, report.ordersRead);
    if (report.skipped) recordMetric(marketplace.id, 'PollSkipped', MetricUnit.Count, 1);
    logger.info('ingest run finished', { report });
    return report;
  } catch (error) {
    recordMetric(marketplace.id, 'PollFailed', MetricUnit.Count, 1);
    throw error;
  } finally {
    const cursor = await deps.cursors.readCursor(marketplace.id);
    if (cursor) {
      const lagSeconds = Math.round((Date.now() - Date.parse(cursor)) / 1000);
      recordMetric(marketplace.id, 'CursorLagSeconds', MetricUnit.Seconds, lagSeconds);
    }
  }
}

export const handler = middy(ingest)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(parser({ schema: PollerInput }));
