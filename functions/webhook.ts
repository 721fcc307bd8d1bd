/**
 * The webhook endpoint (Lambda Function URL, auth NONE at the URL because every request is authenticated here by
 * its HMAC signature). Thin: turn the Function URL event into a request, decide, answer JSON.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { documentClient, eventBridgeClient } from './shared/aws/clients';
import { createEventBridgePublisher } from './shared/aws/eventPublisher';
import { readSecretField } from './shared/aws/secrets';
import { DynamoStateStore } from './shared/aws/stateStore';
import { EVENT_BUS_ENV, TABLES, requiredEnv, tableName } from './shared/aws/tables';
import { resolveConfig } from './shared/config';
import { logger, metrics, tracer } from './shared/observability';
import { acceptWebhook, type WebhookDependencies } from './shared/webhook/acceptWebhook';

/** Secret field holding the webhook signing secret (a plain-string secret is the secret itself). */
export const WEBHOOK_SECRET_FIELD = 'secret';

const config = resolveConfig();
const deps: WebhookDependencies = {
  config,
  signingSecret: () => readSecretField(config.webhook.secretName, WEBHOOK_SECRET_FIELD),
  pending: new DynamoStateStore(documentClient(), tableName(TABLES.state)),
  publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: requiredEnv(EVENT_BUS_ENV) }),
  nowMs: () => Date.now(),
  log: {
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  },
};

async function receive(event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> {
  const rawBody = !event.body ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const response = await acceptWebhook(
    { method: event.requestContext.http.method, headers: event.headers ?? {}, rawBody },
    deps,
  );
  metrics.addMetric(response.statusCode < 300 ? 'WebhookAccepted' : `WebhookRejected${response.statusCode}`, MetricUnit.Count, 1);
  return {
    statusCode: response.statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(response.body),
  };
}

export const handler = middy(receive)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
