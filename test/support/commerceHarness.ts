/**
 * The Mirakl return-path connectors wired as deployed but on loopback: the real batch runtime with Powertools
 * idempotency, the exception inbox, the mappings and state tables on dynalite, and the Mirakl sandbox over HTTP,
 * all on one test clock (the sandbox's acceptance deadlines and stock imports, and the call-frequency slots).
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { DynamoStateStore } from '../../functions/shared/aws/stateStore';
import { DynamoMappingTable } from '../../functions/shared/commerce/dynamoMappings';
import type { CommerceLog, MiraklClients } from '../../functions/shared/commerce/ports';
import { type Config, type ConfigInput, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { type Connector, createBatchHandler } from '../../functions/shared/connector/runtime';
import type { BusinessEvent } from '../../functions/shared/events';
import { createHttpClient } from '../../functions/shared/http';
import { orderFacts } from '../../functions/shared/ingest/orderFacts';
import { type CallFrequencyGuard, createMarketplaceGuard } from '../../functions/shared/mirakl/callFrequency';
import { createMiraklClient } from '../../functions/shared/mirakl/client';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { lambdaContext } from '../../local/lambda';
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';
import type { MiraklOperation } from '../../local/sandboxes/mirakl';
import { eventBridgeEnvelope, sqsRecord } from './klaviyoFixtures';

export const API_KEYS = { debenhams: 'debenhams-test-key', decathlon: 'decathlon-test-key' } as const;

export interface CommerceHarness {
  config: Config;
  sandbox: MiraklSandbox;
  dynamo: LocalDynamo;
  documents: DynamoDBDocumentClient;
  mappings: DynamoMappingTable;
  state: DynamoStateStore;
  exceptionsRecorder: DynamoExceptionRecorder;
  guard: CallFrequencyGuard;
  mirakl: MiraklClients;
  log: CommerceLog & { lines: string[] };
  now(): Date;
  advance(ms: number): void;
  /** One Lambda invocation of the connector over these events (one SQS record each); returns failed indexes. */
  deliver(name: 'mirakl-acceptance' | 'mirakl-stock' | 'mirakl-tracking', connector: Connector, events: BusinessEvent[], receiveCount?: number): Promise<number[]>;
  /** Requests the sandbox answered for one operation (status 0 = reset). */
  calls(operation: MiraklOperation): { path: string; status: number }[];
  exceptions(): Promise<Record<string, unknown>[]>;
  /** The `Order Awaiting Acceptance` event the poller would publish for a sandbox order. */
  awaiting(marketplace: string, orderId: string): BusinessEvent<'Order Awaiting Acceptance'>;
  close(): Promise<void>;
}

export async function startCommerceHarness(overrides: Partial<ConfigInput> = {}): Promise<CommerceHarness> {
  let now = Date.parse('2026-11-22T10:00:00Z');
  const clock = () => new Date(now);
  const dynamo = await startLocalDynamo({ tablePrefix: `c${Math.random().toString(36).slice(2, 8)}-` });
  const sandbox = await startMiraklSandbox({
    port: 0,
    marketplaces: [
      { id: 'debenhams', apiKey: API_KEYS.debenhams },
      { id: 'decathlon', apiKey: API_KEYS.decathlon, shopId: 2043 },
    ],
    clock,
    autoAccept: false,
  });
  const base = sandboxConfigInput;
  const config = parseConfig({
    ...base,
    ...overrides,
    marketplaces: (overrides.marketplaces ?? base.marketplaces).map((mp) => ({ ...mp, baseUrl: `${sandbox.url}/${mp.id}` })),
  });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const state = new DynamoStateStore(documents, dynamo.tableNames.state);
  const exceptionsRecorder = new DynamoExceptionRecorder(documents, dynamo.tableNames.exceptions, clock);
  // Retries stay real (attempts, Retry-After) but their waits shrink to a millisecond.
  const http = createHttpClient({ timeoutMs: 2_000, sleep: () => new Promise((resolve) => setTimeout(resolve, 1)) });
  const mirakl: MiraklClients = async (marketplace) => {
    const mp = config.marketplaces.find((m) => m.id === marketplace);
    if (!mp) throw new Error(`unknown marketplace ${marketplace}`);
    return createMiraklClient({
      baseUrl: mp.baseUrl,
      apiKey: API_KEYS[marketplace as keyof typeof API_KEYS],
      ...(mp.shopId === undefined ? {} : { shopId: mp.shopId }),
      http,
    });
  };
  const lines: string[] = [];
  const logger = new Logger({ serviceName: 'commerce-test', logLevel: 'CRITICAL' });
  const metrics = new Metrics({ namespace: 'MarketBridgeTest', serviceName: 'commerce-test' });
  return {
    config,
    sandbox,
    dynamo,
    documents,
    mappings: new DynamoMappingTable(documents, dynamo.tableNames.mappings),
    state,
    exceptionsRecorder,
    guard: createMarketplaceGuard(config.marketplaces, state, { now: () => now }),
    mirakl,
    log: {
      lines,
      info: (message) => lines.push(message),
      warn: (message) => lines.push(message),
    },
    now: clock,
    advance(ms) {
      now += ms;
    },
    async deliver(name, connector, events, receiveCount = 1) {
      const handler = createBatchHandler({
        name,
        connector,
        persistenceStore: new DynamoDBPersistenceLayer({ tableName: dynamo.tableNames.idempotency, awsSdkV3Client: client }),
        exceptions: exceptionsRecorder,
        logger,
        metrics,
      });
      const records = events.map((event) => sqsRecord(JSON.stringify(eventBridgeEnvelope(event)), receiveCount));
      try {
        const response = await handler({ Records: records }, lambdaContext(name, 30_000));
        return response.batchItemFailures.map((failure) => records.findIndex((r) => r.messageId === failure.itemIdentifier));
      } catch {
        // Every record failed: Lambda returns the whole batch to the queue.
        return records.map((_, i) => i);
      } finally {
        metrics.clearMetrics();
      }
    },
    calls(operation) {
      return sandbox.requests.filter((r) => r.operation === operation).map((r) => ({ path: r.path, status: r.status }));
    },
    async exceptions() {
      const result = await documents.send(new ScanCommand({ TableName: dynamo.tableNames.exceptions }));
      return result.Items ?? [];
    },
    awaiting(marketplace, orderId) {
      const mp = config.marketplaces.find((m) => m.id === marketplace);
      if (!mp) throw new Error(`unknown marketplace ${marketplace}`);
      const facts = orderFacts(sandbox.world.get(marketplace, orderId), undefined, { marketplace: mp, component: 'test' });
      const event = facts.events.find((e) => e.detailType === 'Order Awaiting Acceptance');
      if (!event) throw new Error(`order ${orderId} is not waiting for acceptance`);
      return event as BusinessEvent<'Order Awaiting Acceptance'>;
    },
    async close() {
      client.destroy();
      await sandbox.close();
      await dynamo.close();
    },
  };
}
