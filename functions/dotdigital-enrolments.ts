/**
 * Scheduled Dotdigital programme enrolment (`{}` every ENROLMENT_RUN_MINUTES): the enrolments the connector recorded
 * for subscribed contacts go to Dotdigital in batches, one call per programme, under its cap of 20 calls an hour.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { documentClient } from './shared/aws/clients';
import { DynamoEnrolmentStore } from './shared/aws/enrolmentStore';
import { DynamoExceptionRecorder } from './shared/aws/exceptionStore';
import { DynamoLeaseStore } from './shared/aws/leaseStore';
import { readSecretField } from './shared/aws/secrets';
import { TABLES, tableName } from './shared/aws/tables';
import { resolveConfig } from './shared/config';
import { createDotdigitalApi } from './shared/dotdigital/api';
import { dotdigitalRetryAfter } from './shared/dotdigital/connector';
import {
  ENROLMENT_CALL_TIMEOUT_MS,
  type EnrolmentRunResult,
  enrolmentCaller,
  enrolmentProgrammes,
  runEnrolments,
} from './shared/dotdigital/enrolments';
import { dotdigitalSettings } from './shared/dotdigital/requests';
import { createHttpClient } from './shared/http';
import { logger, metrics, tracer } from './shared/observability';

const config = resolveConfig();
const secretName = dotdigitalSettings(config).secretName;
if (!secretName) throw new Error('dotdigital-enrolments needs connectors.dotdigital.secretName');
const client = documentClient();
const state = tableName(TABLES.state);
const api = createDotdigitalApi({
  config,
  http: createHttpClient({ timeoutMs: ENROLMENT_CALL_TIMEOUT_MS, retryAfter: dotdigitalRetryAfter }),
  credentials: async () => ({ username: await readSecretField(secretName, 'username'), password: await readSecretField(secretName, 'password') }),
});
const deps = {
  store: new DynamoEnrolmentStore(client, state),
  leases: new DynamoLeaseStore(client, state),
  programmes: enrolmentProgrammes(config),
  enrol: enrolmentCaller(api),
  exceptions: new DynamoExceptionRecorder(client, tableName(TABLES.exceptions)),
};

async function run(): Promise<EnrolmentRunResult> {
  const result = await runEnrolments(deps);
  metrics.addMetric('EnrolmentCalls', MetricUnit.Count, result.calls);
  metrics.addMetric('Enrolled', MetricUnit.Count, result.enrolled);
  metrics.addMetric('EnrolmentsWaiting', MetricUnit.Count, result.waiting);
  metrics.addMetric('EnrolmentExceptions', MetricUnit.Count, result.exceptions);
  logger.info('dotdigital enrolment run finished', { ...result });
  return result;
}

export const handler = middy(run)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
