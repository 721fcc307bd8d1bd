/**
 * mirakl-stock Lambda, two triggers: its SQS queue (`Stock Changed` events: record the reading, push if the STO01
 * slot is free) and a schedule per marketplace (`{ marketplace }`: follow outstanding imports, re-read SFCC
 * available-to-sell when configured, push what changed).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { commerceAws, sfccAvailableToSell } from './shared/commerce/awsDependencies';
import { createMarketplaceGuard } from './shared/mirakl/callFrequency';
import { type StockDeps, type StockRunResult, createStockConnector, runStockPush } from './shared/commerce/stockPush';
import { connectorHandler } from './shared/connector/handler';
import { type Config, resolveConfig } from './shared/config';
import { type HttpClient, createHttpClient } from './shared/http';
import { logger, metrics, tracer } from './shared/observability';

export const StockRunInput = z.object({ marketplace: z.string().min(1) }).strict();

function stockDeps(config: Config, http: HttpClient): StockDeps {
  const aws = commerceAws(config, http);
  const availableToSell = sfccAvailableToSell(config, http);
  return { ...aws, guard: createMarketplaceGuard(config.marketplaces, aws.state), ...(availableToSell ? { availableToSell } : {}) };
}

const fromQueue = connectorHandler('mirakl-stock', ({ config, http }) => createStockConnector(stockDeps(config, http)));

let deps: StockDeps | undefined;
async function scheduledRun(input: z.infer<typeof StockRunInput>): Promise<StockRunResult> {
  deps ??= stockDeps(resolveConfig(), createHttpClient());
  metrics.addDimension('marketplace', input.marketplace);
  // Scheduled runs re-read SFCC for every mapped product (when SFCC is configured): missed events heal here.
  const result = await runStockPush(input.marketplace, deps, { refresh: true });
  metrics.addMetric('StockLinesPushed', MetricUnit.Count, result.pushed?.lines ?? 0);
  metrics.addMetric('StockImportErrors', MetricUnit.Count, result.completed.reduce((n, c) => n + c.errors, 0));
  logger.info('stock run finished', { marketplace: input.marketplace, ...result });
  return result;
}

const fromSchedule = middy(scheduledRun)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: StockRunInput }));

export async function handler(event: SQSEvent | z.input<typeof StockRunInput>, context: Context): Promise<unknown> {
  return 'Records' in event ? fromQueue(event, context) : fromSchedule(event, context);
}
