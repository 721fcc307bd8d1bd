/**
 * Scheduled read of SFCC shipments (`{}` every SHIPMENTS_READ_MINUTES): shipped SFCC shipments of marketplace orders
 * become `Shipment Dispatched` events for `mirakl-tracking`, without any hook in the brand's SFCC cartridge.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { documentClient, eventBridgeClient } from './shared/aws/clients';
import { createEventBridgePublisher } from './shared/aws/eventPublisher';
import { readSecretField } from './shared/aws/secrets';
import { DynamoStateStore } from './shared/aws/stateStore';
import { EVENT_BUS_ENV, requiredEnv, TABLES, tableName } from './shared/aws/tables';
import { resolveConfig } from './shared/config';
import { createHttpClient } from './shared/http';
import { logger, metrics, tracer } from './shared/observability';
import { createShipmentsReader } from './shared/sfcc/shipments';
import { type ShipmentsReadResult, runShipmentsRead } from './shared/sfcc/shipmentsRun';

const config = resolveConfig();
const sfcc = config.sfcc;
if (!sfcc) throw new Error('sfcc-shipments needs the sfcc block of the configuration');
const deps = {
  reader: createShipmentsReader({ sfcc, http: createHttpClient(), secret: (field) => readSecretField(sfcc.secretName, field) }),
  cursors: new DynamoStateStore(documentClient(), tableName(TABLES.state)),
  publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: requiredEnv(EVENT_BUS_ENV) }),
  now: () => new Date(),
};

async function read(): Promise<ShipmentsReadResult> {
  const result = await runShipmentsRead(deps);
  metrics.addMetric('ShipmentsPublished', MetricUnit.Count, result.events);
  logger.info('sfcc shipments read finished', { ...result });
  return result;
}

export const handler = middy(read)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
