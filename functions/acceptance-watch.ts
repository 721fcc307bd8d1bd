/**
 * Scheduled acceptance deadline watch: orders still waiting with less than the margin left become
 * `acceptance.deadline-at-risk` exceptions, and `AcceptanceDeadlineAtRisk` (per marketplace) feeds the alarm.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { documentClient } from './shared/aws/clients';
import { DynamoExceptionRecorder } from './shared/aws/exceptionStore';
import { DynamoStateStore } from './shared/aws/stateStore';
import { TABLES, tableName } from './shared/aws/tables';
import { DynamoMappingTable } from './shared/commerce/dynamoMappings';
import { watchDeadlines } from './shared/commerce/deadlineWatch';
import { resolveConfig } from './shared/config';
import { logger, metrics, tracer } from './shared/observability';

export const AT_RISK_METRIC = 'AcceptanceDeadlineAtRisk';

const config = resolveConfig();
const documents = documentClient();
const deps = {
  config,
  mappings: new DynamoMappingTable(documents, tableName(TABLES.mappings)),
  snapshots: new DynamoStateStore(documents, tableName(TABLES.state)),
  exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions)),
  now: () => new Date(),
};

async function watch(): Promise<unknown> {
  const results = await watchDeadlines(deps);
  for (const result of results) {
    // One metric set per marketplace, so the alarm can name the marketplace; single metrics flush themselves.
    const single = metrics.singleMetric();
    single.addDimension('marketplace', result.marketplace);
    single.addMetric(AT_RISK_METRIC, MetricUnit.Count, result.atRisk);
  }
  logger.info('acceptance deadline watch finished', { results });
  return results;
}

export const handler = middy(watch)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
