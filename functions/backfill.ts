/**
 * One slice of a history load, as the backfill state machine invokes it: works until a minute of the invocation is
 * left (saving after every chunk), then returns `stopped` and is invoked again; returns `waiting` with the seconds
 * to wait while Mirakl prepares the export (the state machine waits, not the Lambda), and `done` at the end.
 * Thin: parse, run, report metrics.
 */
import type { Context } from 'aws-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { awsBackfillDependencies } from './shared/backfill/awsDependencies';
import { runBackfill } from './shared/backfill/run';
import { CONNECTOR_NAMES, marketplaceById, resolveConfig } from './shared/config';
import { logger, metrics, tracer } from './shared/observability';

export const BackfillInput = z
  .object({
    marketplace: z.string().min(1),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }),
    connectors: z.array(z.enum(CONNECTOR_NAMES)).min(1).optional(),
  })
  .strict();

/** Time kept back from the invocation: the chunk in hand (at most 100 orders) finishes and saves inside it. */
export const SLICE_RESERVE_MS = 60_000;

const config = resolveConfig();

async function slice(input: z.infer<typeof BackfillInput>, context: Context) {
  const marketplace = marketplaceById(config, input.marketplace);
  logger.appendKeys({ marketplace: marketplace.id });
  const outcome = await runBackfill(awsBackfillDependencies(config, marketplace), marketplace, input, {
    shouldStop: () => context.getRemainingTimeInMillis() < SLICE_RESERVE_MS,
    returnWhenWaiting: true,
  });
  const { progress } = outcome;
  const metric = metrics.singleMetric();
  metric.addDimension('marketplace', marketplace.id);
  metric.addMetric('BackfillOrders', MetricUnit.Count, progress.ordersDone);
  logger.info('history load slice finished', {
    loadId: progress.loadId,
    status: outcome.status,
    source: progress.source,
    ordersDone: progress.ordersDone,
    eventsPublished: progress.eventsPublished,
  });
  return {
    status: outcome.status,
    // Step Functions' Wait takes whole seconds.
    waitSeconds: outcome.status === 'waiting' ? Math.max(1, Math.ceil(outcome.retryInMs / 1000)) : 0,
    ordersDone: progress.ordersDone,
    eventsPublished: progress.eventsPublished,
  };
}

export const handler = middy(slice)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: BackfillInput }));
