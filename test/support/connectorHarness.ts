/**
 * A Klaviyo connector wired as deployed but on loopback: the real batch handler, Powertools idempotency and the
 * exception inbox on dynalite, the Klaviyo sandbox over HTTP, and an SQS queue with a DLQ (the local runtime's
 * queue, on a test clock so visibility timeouts pass instantly). Captures stdout (logs and EMF metrics) so tests
 * can assert what was counted and that no personal data was written.
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import type { Config } from '../../functions/shared/config';
import { type Connector, createBatchHandler, rateLimitObserver } from '../../functions/shared/connector/runtime';
import type { BusinessEvent } from '../../functions/shared/events';
import { createHttpClient } from '../../functions/shared/http';
import { createKlaviyoConnector } from '../../functions/shared/klaviyo/connector';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { lambdaContext } from '../../local/lambda';
import { type LocalQueue, QueueRegistry } from '../../local/queue';
import { type KlaviyoSandbox, startKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { KLAVIYO_TEST_KEY, eventBridgeEnvelope, klaviyoConfig } from './klaviyoFixtures';

export const MAX_RECEIVES = 5;
const VISIBILITY_SECONDS = 180;

export interface Harness {
  config: Config;
  sandbox: KlaviyoSandbox;
  dynamo: LocalDynamo;
  registry: QueueRegistry;
  queue: LocalQueue;
  dlq: LocalQueue;
  /** Wraps the connector, e.g. to simulate a crash; identity by default. */
  wrap: (connector: Connector) => Connector;
  /** stdout and stderr written while the harness ran (logs, EMF). */
  output: string[];
  send(events: BusinessEvent[]): void;
  sendRaw(body: string): void;
  /** One Lambda invocation over up to `batchSize` visible messages; returns the failed message ids. */
  /** `ack: false` loses the deletes, as when the function dies after finishing its work. */
  invokeOnce(options?: { batchSize?: number; timeoutMs?: number; ack?: boolean }): Promise<string[]>;
  /** Invokes until the queue is empty, moving the clock past visibility timeouts between rounds. */
  drain(options?: { batchSize?: number; maxRounds?: number }): Promise<void>;
  /** Moves the test clock forward. */
  advance(ms: number): void;
  exceptions(): Promise<Record<string, unknown>[]>;
  /** Sum of an EMF metric over everything published so far. */
  metric(name: string): number;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function startHarness(
  options: { connector?: Record<string, unknown>; httpTimeoutMs?: number } = {},
): Promise<Harness> {
  let now = Date.parse('2026-11-22T10:00:00Z');
  const clock = { now: () => now };
  const dynamo = await startLocalDynamo({ tablePrefix: `t${Math.random().toString(36).slice(2, 8)}-` });
  // The connector's waits (Retry-After, backoff) shrink to milliseconds below; the sandbox's rate-limit clock moves on
  // by what they would have been, or a quick run of invocations meets the same full window again and again.
  let waited = 0;
  const sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY], now: () => Date.now() + waited });
  const config = klaviyoConfig({ baseUrl: sandbox.url, ...options.connector });
  const registry = new QueueRegistry(clock);
  const dlq = registry.create({ name: 'klaviyo-dlq', retentionSeconds: 14 * 24 * 3600 });
  const queue = registry.create({
    name: 'klaviyo',
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
    deadLetter: { queue: dlq, maxReceiveCount: MAX_RECEIVES },
  });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const documents = DynamoDBDocumentClient.from(client);
  const output: string[] = [];
  // Logs and EMF go to stdout/stderr (Powertools' own console): captured for the harness's life, including invocations
  // a test abandons mid-way.
  const streams = [process.stdout, process.stderr] as const;
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  const logger = new Logger({ serviceName: 'klaviyo', logLevel: 'INFO' });
  const metrics = new Metrics({ namespace: 'MarketBridgeTest', serviceName: 'klaviyo', defaultDimensions: { connector: 'klaviyo' } });
  const http = createHttpClient({
    timeoutMs: options.httpTimeoutMs ?? 500,
    // Waits shrink to a few milliseconds: the tests are about outcomes, not wall-clock time.
    sleep: (ms) => {
      waited += ms;
      return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)));
    },
    onAttempt: rateLimitObserver(metrics),
  });
  let closed = false;
  const harness: Harness = {
    config,
    sandbox,
    dynamo,
    registry,
    queue,
    dlq,
    wrap: (connector) => connector,
    output,
    send(events) {
      for (const event of events) queue.send(JSON.stringify(eventBridgeEnvelope(event)));
    },
    sendRaw(body) {
      queue.send(body);
    },
    async invokeOnce({ batchSize = 10, timeoutMs = 30_000, ack = true } = {}) {
      const messages = queue.receive(batchSize);
      if (messages.length === 0) return [];
      const handler = createBatchHandler({
        name: 'klaviyo',
        connector: harness.wrap(createKlaviyoConnector({ config, http, apiKey: async () => KLAVIYO_TEST_KEY })),
        persistenceStore: new DynamoDBPersistenceLayer({ tableName: dynamo.tableNames.idempotency, awsSdkV3Client: client }),
        exceptions: new DynamoExceptionRecorder(documents, dynamo.tableNames.exceptions),
        logger,
        metrics,
        maxReceiveCount: MAX_RECEIVES,
      });
      const records: SQSRecord[] = messages.map((m) => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        attributes: m.attributes,
        messageAttributes: {},
        md5OfBody: m.md5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: LOCAL_REGION,
      }));
      let failed: string[];
      try {
        const response = await handler({ Records: records }, lambdaContext('klaviyo', timeoutMs));
        failed = response.batchItemFailures.map((f) => f.itemIdentifier);
      } catch {
        // A full-batch failure: Lambda returns every message to the queue.
        failed = records.map((r) => r.messageId);
      } finally {
        metrics.publishStoredMetrics();
      }
      if (ack) for (const message of messages) if (!failed.includes(message.messageId)) queue.delete(message.receiptHandle);
      return failed;
    },
    async drain({ batchSize = 10, maxRounds = 50 } = {}) {
      for (let round = 0; round < maxRounds; round++) {
        const depth = queue.depth();
        if (depth.visible + depth.inFlight === 0) return;
        if (depth.visible === 0) harness.advance(VISIBILITY_SECONDS * 1000 + 1);
        while (queue.depth().visible > 0) await harness.invokeOnce({ batchSize });
      }
      throw new Error(`queue not drained after ${maxRounds} rounds`);
    },
    advance(ms) {
      now += ms;
    },
    async exceptions() {
      const result = await documents.send(new ScanCommand({ TableName: dynamo.tableNames.exceptions }));
      return result.Items ?? [];
    },
    metric(name) {
      let total = 0;
      for (const line of output.join('').split('\n')) {
        if (!line.includes('"_aws"')) continue;
        const blob = JSON.parse(line) as Record<string, unknown>;
        const value = blob[name];
        if (typeof value === 'number') total += value;
        else if (Array.isArray(value)) total += value.reduce((a: number, b: number) => a + b, 0);
      }
      return total;
    },
    async close() {
      if (closed) return;
      closed = true;
      streams.forEach((stream, i) => {
        stream.write = writes[i] as typeof stream.write;
      });
      registry.stop();
      client.destroy();
      await sandbox.close();
      await dynamo.close();
    },
  };
  return harness;
}

/** Events the sandbox recorded, as `metric unique_id` strings. */
export function recorded(sandbox: KlaviyoSandbox): string[] {
  return sandbox.store.events.map((e) => `${e.metric} ${e.uniqueId}`);
}
