/**
 * Dotdigital's pending programme enrolments on the `state` table, single conditional writes only (as on dynalite):
 *
 * - `enrolments#<programme>#<shard>`: a string set of pending enrolments, spread over PENDING_SHARDS items by contact
 *   so a backlog during a Dotdigital outage stays far from DynamoDB's 400 KB per item; the connector ADDs (a
 *   redelivered fact adds the same string), the run DELETEs what it enrolled.
 * - `enrolment-call`: the call being made, written before it and deleted once its enrolments are removed.
 * - `enrolment-calls`: the log of recent calls under the hourly cap, replaced with a version check.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CallLog, EnrolmentCall, EnrolmentStore, PendingEnrolment, RecordedCall } from '../dotdigital/enrolments';
import { conditional } from './stateStore';

export const PENDING_SHARDS = 16;

const keys = {
  pending: (programme: number, shard: number) => `enrolments#${programme}#${shard}`,
  call: () => 'enrolment-call',
  log: () => 'enrolment-calls',
};

const shardOf = (contactId: number) => contactId % PENDING_SHARDS;

/** The programme is in the item's key; the rest travels as one JSON string in the set. */
const encode = (e: PendingEnrolment) => JSON.stringify([e.contactId, e.marketplace, e.orderId, e.eventId, e.occurredAt]);

function decode(programme: number, text: string): PendingEnrolment {
  const [contactId, marketplace, orderId, eventId, occurredAt] = JSON.parse(text) as [number, string, string, string, string];
  return { programme, contactId, marketplace, orderId, eventId, occurredAt };
}

export class DynamoEnrolmentStore implements EnrolmentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private async update(key: string, operation: 'ADD' | 'DELETE', entries: string[]): Promise<void> {
    if (entries.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: key },
        UpdateExpression: `${operation} pending :entries`,
        ExpressionAttributeValues: { ':entries': new Set(entries) },
      }),
    );
  }

  async add(enrolment: PendingEnrolment): Promise<void> {
    await this.update(keys.pending(enrolment.programme, shardOf(enrolment.contactId)), 'ADD', [encode(enrolment)]);
  }

  async pending(programmes: readonly number[]): Promise<PendingEnrolment[]> {
    const shards = programmes.flatMap((programme) => Array.from({ length: PENDING_SHARDS }, (_, shard) => ({ programme, shard })));
    const found = await Promise.all(
      shards.map(async ({ programme, shard }) => {
        const result = await this.client.send(
          new GetCommand({ TableName: this.tableName, Key: { pk: keys.pending(programme, shard) }, ConsistentRead: true }),
        );
        return [...((result.Item?.pending as Set<string> | undefined) ?? [])].map((text) => decode(programme, text));
      }),
    );
    return found.flat();
  }

  async remove(enrolments: readonly PendingEnrolment[]): Promise<void> {
    const byItem = new Map<string, string[]>();
    for (const e of enrolments) {
      const key = keys.pending(e.programme, shardOf(e.contactId));
      const entries = byItem.get(key) ?? [];
      entries.push(encode(e));
      byItem.set(key, entries);
    }
    for (const [key, entries] of byItem) await this.update(key, 'DELETE', entries);
  }

  async inFlight(): Promise<EnrolmentCall | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: keys.call() }, ConsistentRead: true }));
    if (!result.Item) return undefined;
    const { pk: _key, ...call } = result.Item;
    return call as EnrolmentCall;
  }

  begin(call: EnrolmentCall): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({ TableName: this.tableName, Item: { pk: keys.call(), ...call }, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
  }

  async answered(callId: string, enrolmentId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.call() },
        UpdateExpression: 'SET enrolmentId = :enrolment',
        ConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':enrolment': enrolmentId, ':id': callId },
      }),
    );
  }

  async end(callId: string): Promise<void> {
    await conditional(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: keys.call() },
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': callId },
        }),
      ),
    );
  }

  async callLog(): Promise<CallLog> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: keys.log() }, ConsistentRead: true }));
    return { calls: (result.Item?.calls as RecordedCall[] | undefined) ?? [], version: Number(result.Item?.version ?? 0) };
  }

  writeCallLog(expected: CallLog, calls: RecordedCall[]): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: keys.log(), calls, version: expected.version + 1 },
          ...(expected.version === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expected.version } }),
        }),
      ),
    );
  }
}
