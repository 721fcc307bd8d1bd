/**
 * The `state` table: order snapshots, per-marketplace cursors, pending webhook re-reads and Mirakl call slots.
 * Every write is a single conditional write (no transactions), so it behaves the same on DynamoDB and dynalite.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { OrderSnapshot } from '../ingest/orderFacts';
import type { CursorStore, OrderSnapshotStore, PendingOrderIds, StoredSnapshot } from '../ingest/ports';
import type { CallSlotStore, SlotRecord } from '../mirakl/callFrequency';

const keys = {
  order: (mp: string, orderId: string) => `order#${mp}#${orderId}`,
  cursor: (mp: string) => `cursor#${mp}`,
  pending: (mp: string) => `pending#${mp}`,
  slot: (key: string) => `slot#${key}`,
};

const BATCH_GET_LIMIT = 100;
const UNPROCESSED_RETRIES = 5;

/** Runs a conditional write: false when its condition failed, any other error thrown. */
export async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** A slot item's fields, or undefined for an item never granted (or given back to nothing). */
function slotRecord(item: Record<string, unknown> | undefined): SlotRecord | undefined {
  if (typeof item?.lastCallAt !== 'number') return undefined;
  return {
    lastCallAt: item.lastCallAt,
    ...(typeof item.retryFrom === 'number' ? { retryFrom: item.retryFrom } : {}),
    ...(typeof item.uncertainCalls === 'number' ? { uncertainCalls: item.uncertainCalls } : {}),
  };
}

export class DynamoStateStore implements OrderSnapshotStore, CursorStore, PendingOrderIds, CallSlotStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(marketplace: string, orderIds: readonly string[]): Promise<Map<string, StoredSnapshot>> {
    const found = new Map<string, StoredSnapshot>();
    for (let i = 0; i < orderIds.length; i += BATCH_GET_LIMIT) {
      let requested: Record<string, unknown>[] = orderIds
        .slice(i, i + BATCH_GET_LIMIT)
        .map((id) => ({ pk: keys.order(marketplace, id) }));
      for (let attempt = 0; requested.length > 0; attempt += 1) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error('DynamoDB kept returning unprocessed keys for snapshots');
        const result = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: requested, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const snapshot = item.snapshot as OrderSnapshot;
          found.set(snapshot.orderId, { snapshot, version: Number(item.version) });
        }
        requested = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
        if (requested.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    return found;
  }

  async save(marketplace: string, snapshot: OrderSnapshot, expectedVersion: number | undefined): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: keys.order(marketplace, snapshot.orderId),
            snapshot,
            version: (expectedVersion ?? 0) + 1,
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      ),
    );
  }

  async readCursor(marketplace: string): Promise<string | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.cursor(marketplace) }, ConsistentRead: true }),
    );
    return result.Item?.cursor as string | undefined;
  }

  async advanceCursor(marketplace: string, from: string | undefined, to: string): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.cursor(marketplace) },
          UpdateExpression: 'SET #cursor = :to',
          ConditionExpression: from === undefined ? 'attribute_not_exists(#cursor)' : '#cursor = :from',
          ExpressionAttributeNames: { '#cursor': 'cursor' },
          ExpressionAttributeValues: { ':to': to, ...(from === undefined ? {} : { ':from': from }) },
        }),
      ),
    );
  }

  async add(marketplace: string, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.pending(marketplace) },
        UpdateExpression: 'ADD orderIds :ids',
        ExpressionAttributeValues: { ':ids': new Set(orderIds) },
      }),
    );
  }

  async list(marketplace: string): Promise<string[]> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.pending(marketplace) }, ConsistentRead: true }),
    );
    const ids = result.Item?.orderIds as Set<string> | undefined;
    return [...(ids ?? [])].sort();
  }

  async remove(marketplace: string, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.pending(marketplace) },
        UpdateExpression: 'DELETE orderIds :ids',
        ExpressionAttributeValues: { ':ids': new Set(orderIds) },
      }),
    );
  }

  /** Takes a call slot when it is free (see CallSlotStore); the old item comes back with the same write. */
  async tryAcquire(key: string, minIntervalMs: number, nowMs: number) {
    let previous: SlotRecord | undefined;
    const granted = await conditional(async () => {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.slot(key) },
          UpdateExpression: 'SET lastCallAt = :now REMOVE retryFrom',
          ConditionExpression: 'attribute_not_exists(lastCallAt) OR lastCallAt <= :latestAllowed OR retryFrom <= :now',
          ExpressionAttributeValues: { ':now': nowMs, ':latestAllowed': nowMs - minIntervalMs },
          ReturnValues: 'ALL_OLD',
        }),
      );
      previous = slotRecord(result.Attributes);
    });
    return granted ? ({ granted, previous } as const) : ({ granted } as const);
  }

  /** Puts a slot back as it was before the grant made at `grantedAt`, if that grant is still the last one. */
  async restore(key: string, grantedAt: number, previous: SlotRecord | undefined): Promise<boolean> {
    const fields = { lastCallAt: previous?.lastCallAt, retryFrom: previous?.retryFrom, uncertainCalls: previous?.uncertainCalls };
    const set = Object.entries(fields).filter(([, value]) => value !== undefined);
    const remove = Object.entries(fields).filter(([, value]) => value === undefined);
    return conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.slot(key) },
          UpdateExpression: [
            set.length > 0 ? `SET ${set.map(([name]) => `${name} = :${name}`).join(', ')}` : '',
            remove.length > 0 ? `REMOVE ${remove.map(([name]) => name).join(', ')}` : '',
          ]
            .filter(Boolean)
            .join(' '),
          ConditionExpression: 'lastCallAt = :grantedAt',
          ExpressionAttributeValues: { ':grantedAt': grantedAt, ...Object.fromEntries(set.map(([name, value]) => [`:${name}`, value])) },
        }),
      ),
    );
  }

  /** Lets the slot granted at `grantedAt` be granted again from `retryFrom`. */
  async allowRetry(key: string, grantedAt: number, retry: { retryFrom: number; uncertainCalls: number }): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.slot(key) },
          UpdateExpression: 'SET retryFrom = :retryFrom, uncertainCalls = :uncertainCalls',
          ConditionExpression: 'lastCallAt = :grantedAt',
          ExpressionAttributeValues: { ':grantedAt': grantedAt, ':retryFrom': retry.retryFrom, ':uncertainCalls': retry.uncertainCalls },
        }),
      ),
    );
  }
}
