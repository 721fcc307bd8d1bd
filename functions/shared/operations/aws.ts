/**
 * The operations pieces on AWS: delivery records read through Powertools (so keys are hashed exactly as the
 * connectors wrote them), the latest reconciliation per marketplace in the `state` table, and the wiring the
 * reconcile Lambda, the weekly report and the CLI share. Endpoints come from AWS_ENDPOINT_URL_*, which is how the
 * CLI also works against the local runtime.
 */
import { IdempotencyConfig, IdempotencyItemNotFoundError, IdempotencyRecordStatus } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, eventBridgeClient } from '../aws/clients';
import { createEventBridgePublisher } from '../aws/eventPublisher';
import { DynamoExceptionRecorder } from '../aws/exceptionStore';
import { miraklCallGate, miraklOrderSources } from '../aws/ingestDependencies';
import { DynamoStateStore } from '../aws/stateStore';
import { EVENT_BUS_ENV, requiredEnv, TABLES, tableName } from '../aws/tables';
import type { Config, ConnectorName } from '../config';
import { IDEMPOTENCY_KEY_PATH, idempotencyKeyPrefix } from '../connector/runtime';
import { DynamoExceptionInbox, type RetryDeps } from './inbox';
import type { DeliveryRecords, ReconcileDeps, Reconciliation } from './reconcile';

/** Reads the connectors' idempotency records: COMPLETED means the destination accepted the fact. */
export class IdempotencyDeliveryRecords implements DeliveryRecords {
  private readonly layers = new Map<ConnectorName, DynamoDBPersistenceLayer>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private layer(connector: ConnectorName): DynamoDBPersistenceLayer {
    let layer = this.layers.get(connector);
    if (!layer) {
      layer = new DynamoDBPersistenceLayer({ tableName: this.tableName, awsSdkV3Client: this.client });
      layer.configure({ config: new IdempotencyConfig({ eventKeyJmesPath: IDEMPOTENCY_KEY_PATH }), keyPrefix: idempotencyKeyPrefix(connector) });
      this.layers.set(connector, layer);
    }
    return layer;
  }

  async delivered(connector: ConnectorName, eventIds: readonly string[]): Promise<Set<string>> {
    const layer = this.layer(connector);
    const found = await Promise.all(
      eventIds.map(async (eventId) => {
        try {
          const record = await layer.getRecord({ detail: { eventId } });
          return record.getStatus() === IdempotencyRecordStatus.COMPLETED ? eventId : undefined;
        } catch (error) {
          if (error instanceof IdempotencyItemNotFoundError) return undefined;
          throw error;
        }
      }),
    );
    return new Set(found.filter((id): id is string => id !== undefined));
  }
}

/** The latest reconciliation of each marketplace, for the console and the CLI's `--latest`. */
export class ReconciliationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private static key(marketplace: string) {
    return { pk: `reconciliation#${marketplace}` };
  }

  async save(reconciliation: Reconciliation): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...ReconciliationStore.key(reconciliation.marketplace), report: JSON.stringify(reconciliation) },
      }),
    );
  }

  async latest(marketplace: string): Promise<Reconciliation | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: ReconciliationStore.key(marketplace) }));
    return typeof result.Item?.report === 'string' ? (JSON.parse(result.Item.report) as Reconciliation) : undefined;
  }
}

/** The inbox and what a retry needs: the exceptions and state tables and the bus (the CLI, the console). */
export function awsRetryDeps(): RetryDeps & { inbox: DynamoExceptionInbox } {
  const documents = documentClient();
  return {
    inbox: awsInbox(),
    pending: new DynamoStateStore(documents, tableName(TABLES.state)),
    publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: requiredEnv(EVENT_BUS_ENV) }),
  };
}

export function awsInbox(): DynamoExceptionInbox {
  return new DynamoExceptionInbox(documentClient(), tableName(TABLES.exceptions));
}

export function awsReconciliations(): ReconciliationStore {
  return new ReconciliationStore(documentClient(), tableName(TABLES.state));
}

/** Reconciliation reads OR11, snapshots and delivery records; with `record`, it also writes exceptions. */
export function awsReconcileDeps(config: Config, options: { record: boolean }): ReconcileDeps {
  const documents = documentClient();
  const state = new DynamoStateStore(documents, tableName(TABLES.state));
  return {
    config,
    orders: miraklOrderSources(config),
    gate: miraklCallGate(config, state),
    snapshots: state,
    deliveries: new IdempotencyDeliveryRecords(new DynamoDBClient({}), tableName(TABLES.idempotency)),
    ...(options.record ? { exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions)) } : {}),
    now: () => new Date(),
  };
}
