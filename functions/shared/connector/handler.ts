/**
 * Wires a connector into a deployable Lambda handler: configuration, the shared HTTP layer (429s counted), the
 * connector's secret from Secrets Manager, idempotency and exception tables from the environment the stack sets,
 * and the Powertools middlewares (tracer, logger with the Lambda context, EMF metrics per connector).
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context, SQSEvent } from 'aws-lambda';
import { documentClient } from '../aws/clients';
import { DynamoExceptionRecorder } from '../aws/exceptionStore';
import { readSecretField } from '../aws/secrets';
import { TABLES, tableName } from '../aws/tables';
import { type Config, resolveConfig } from '../config';
import type { ExceptionRecorder } from '../exceptions';
import { type HttpClient, type HttpClientOptions, createHttpClient } from '../http';
import { logger, tracer } from '../observability';
import type { ConsumerName } from '../routes';
import {
  type BatchHandler,
  type Connector,
  DEFAULT_MAX_RECEIVE_COUNT,
  MAX_RECEIVE_COUNT_ENV,
  createBatchHandler,
  rateLimitObserver,
} from './runtime';

export interface ConnectorDeps {
  config: Config;
  http: HttpClient;
  /** Reads a field of the connector's secret (a plain-string secret is returned whole). */
  secret(field: string): Promise<string>;
  /** The function's DynamoDB document client (traced), for the connector's own state. */
  documents: DynamoDBDocumentClient;
  /** The exception inbox the batch handler records into, for exceptions the connector raises itself. */
  exceptions: ExceptionRecorder;
}

/** `http` tunes the shared HTTP layer for one destination (its timeout, its rate-limit header). */
export function connectorHandler(
  name: ConsumerName,
  create: (deps: ConnectorDeps) => Connector,
  options: { http?: Omit<HttpClientOptions, 'onAttempt'> } = {},
) {
  const metrics = new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MarketBridge',
    serviceName: name,
    defaultDimensions: { connector: name },
  });
  const connectorLogger = logger.createChild({ persistentKeys: { connector: name } });
  let handle: BatchHandler | undefined;

  // Built on the first invocation, then reused while the Lambda is warm.
  function build(): BatchHandler {
    const config = resolveConfig();
    const settings = name === 'privacy' ? undefined : config.connectors[name];
    // The Mirakl return path has no secret of its own: it uses each marketplace's key.
    const secretName = settings?.secretName;
    // Powertools marshals its own items: it gets the plain client, the exception store the document client.
    const dynamo = new DynamoDBClient({});
    const exceptions = new DynamoExceptionRecorder(DynamoDBDocumentClient.from(dynamo), tableName(TABLES.exceptions));
    const maxReceiveCount = Number(process.env[MAX_RECEIVE_COUNT_ENV] ?? DEFAULT_MAX_RECEIVE_COUNT);
    return createBatchHandler({
      name,
      connector: create({
        config,
        http: createHttpClient({ ...options.http, onAttempt: rateLimitObserver(metrics) }),
        secret: (field) =>
          secretName
            ? readSecretField(secretName, field)
            : Promise.reject(new Error(`connectors.${name}.secretName is not configured`)),
        documents: documentClient(),
        exceptions,
      }),
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: tableName(TABLES.idempotency),
        awsSdkV3Client: dynamo,
      }),
      exceptions,
      logger: connectorLogger,
      metrics,
      maxReceiveCount,
    });
  }

  return middy(async (event: SQSEvent, context: Context) => {
    handle ??= build();
    return handle(event, context);
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(connectorLogger))
    .use(logMetrics(metrics));
}
