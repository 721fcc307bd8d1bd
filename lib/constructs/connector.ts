/**
 * One connector, deployed: its queue fed by a rule on the bus (the shared route table's pattern), a DLQ, and the
 * connector Lambda behind an SQS event source whose maximum concurrency is the per-destination throttle.
 *
 * - The queue's visibility timeout is 6× the function timeout (AWS's guidance for SQS event sources), so a batch
 *   still being retried in-process is never handed to a second invocation.
 * - A message is dead-lettered after DEFAULT_MAX_RECEIVE_COUNT receives (≥ 5: throttles must not dead-letter
 *   early); the DLQ keeps it 14 days, longer than the queue, because SQS counts retention from the first enqueue.
 * - The function may read and write idempotency records, update exceptions and read its own secret; nothing else.
 * - Queue names derive from the stack name (connectorQueueNames) so deployments share an account and
 *   `marketbridge redrive --stack STACK --connector` finds them.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { DEFAULT_MAX_RECEIVE_COUNT, MAX_RECEIVE_COUNT_ENV } from '../../functions/shared/connector/runtime';
import { connectorQueueNames } from '../../functions/shared/operations/queues';
import { type ConsumerName, eventPatternFor } from '../../functions/shared/routes';
import { MarketBridgeFunction } from './function';
import type { TableKey } from './tables';

/** SQS event sources need the queue's visibility timeout at least this many times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
const QUEUE_RETENTION = Duration.days(4);
const DLQ_RETENTION = Duration.days(14);

/**
 * Event source batching for connectors with bulk endpoints (Klaviyo): a backlog arrives as a few large batches, one
 * bulk job per batch, while a trickle waits at most the window. Lambda also cuts a batch at 6 MB of payload.
 */
export const BULK_BATCHING = { batchSize: 500, maxBatchingWindow: Duration.seconds(5) } as const;

/** SQS event sources take a maximum concurrency of at least 2. */
const MIN_MAX_CONCURRENCY = 2;

export interface ConnectorProps {
  readonly config: Config;
  readonly connector: ConsumerName;
  readonly bus: IEventBus;
  readonly tables: Readonly<Pick<Record<TableKey, ITable>, 'idempotency' | 'exceptions'>>;
  readonly description: string;
  /** Covers the HTTP layer's in-process retries of one batch (the connector's HTTP policy). */
  readonly timeout?: Duration;
  /** Records per invocation; above 10 SQS needs a batching window. Bulk-capable connectors want large batches. */
  readonly batchSize?: number;
  readonly maxBatchingWindow?: Duration;
  /** Secrets read besides the connector's own, e.g. the marketplaces' Mirakl keys for the return path. */
  readonly secrets?: readonly ISecret[];
}

export class MarketBridgeConnector extends Construct {
  readonly connector: ConsumerName;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly function: MarketBridgeFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ConnectorProps) {
    super(scope, id);
    const name = props.connector;
    this.connector = name;
    // The privacy consumer has no destination: no settings, no secret, every marketplace.
    const settings = name === 'privacy' ? undefined : props.config.connectors[name];
    if (name !== 'privacy' && !settings) throw new Error(`connectors.${name} is not configured`);
    if (settings && !settings.secretName && !props.secrets?.length) {
      throw new Error(`connectors.${name}.secretName is required to deploy the ${name} connector`);
    }
    const timeout = props.timeout ?? Duration.seconds(90);

    const queueNames = connectorQueueNames(Stack.of(this).stackName, name);
    this.deadLetterQueue = new Queue(this, 'Dlq', {
      queueName: queueNames.dlq,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DLQ_RETENTION,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the connector queue (and of its rule target); it is redriven, not dead-lettered.',
    });
    this.queue = new Queue(this, 'Queue', {
      queueName: queueNames.queue,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT },
    });

    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: `functions/${name}.ts`,
      serviceName: name,
      description: props.description,
      config: props.config,
      timeout,
    });
    this.function.addEnvironment(MAX_RECEIVE_COUNT_ENV, String(DEFAULT_MAX_RECEIVE_COUNT));
    // Exactly the calls Powertools idempotency makes (conditional put, consistent get, update, delete on failure).
    this.function.grantTable(TABLES.idempotency, props.tables.idempotency, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
    this.function.grantTable(TABLES.exceptions, props.tables.exceptions, ['UpdateItem']);
    if (settings?.secretName) this.function.grantSecretValue(Secret.fromSecretNameV2(this, 'Secret', settings.secretName));
    for (const secret of props.secrets ?? []) this.function.grantSecretValue(secret);
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: props.maxBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: settings?.maxConcurrency ?? MIN_MAX_CONCURRENCY,
      }),
    );

    const pattern = eventPatternFor(props.config, name);
    this.rule = new Rule(this, 'Rule', {
      eventBus: props.bus,
      description: `Business events for the ${name} connector`,
      eventPattern: {
        source: pattern.source,
        detailType: pattern['detail-type'],
        ...(pattern.detail ? { detail: pattern.detail } : {}),
      },
      targets: [new SqsQueue(this.queue, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
  }
}
