/**
 * The `mappings` table on DynamoDB (partition `pk`, sort `sk`) behind the SKU and carrier maps. Single-item
 * conditional writes only, so it behaves the same on DynamoDB and on the local runtime's embedded store.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { conditional } from '../aws/stateStore';
import type { MappingRow, MappingTable, PutOptions } from './mappings';

const BATCH_GET_LIMIT = 100;
const UNPROCESSED_RETRIES = 5;

export class DynamoMappingTable implements MappingTable {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async query(pk: string): Promise<MappingRow[]> {
    const rows: MappingRow[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: start,
        }),
      );
      rows.push(...((page.Items ?? []) as MappingRow[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return rows;
  }

  async batchGet(pk: string, sks: readonly string[]): Promise<MappingRow[]> {
    const rows: MappingRow[] = [];
    const unique = [...new Set(sks)];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_LIMIT).map((sk) => ({ pk, sk }));
      for (let attempt = 0; keys.length > 0; attempt += 1) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error('DynamoDB kept returning unprocessed keys for mappings');
        const result = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }));
        rows.push(...((result.Responses?.[this.tableName] ?? []) as MappingRow[]));
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
        if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
    return rows;
  }

  async put(row: MappingRow, options: PutOptions = {}): Promise<boolean> {
    const conditions: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (options.replaceSource !== undefined) {
      conditions.push('#source = :source');
      names['#source'] = 'source';
      values[':source'] = options.replaceSource;
    }
    if (options.newerThanAt) {
      conditions.push('#at <= :at');
      names['#at'] = 'at';
      values[':at'] = row.at;
    }
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: row,
          ...(conditions.length === 0
            ? {}
            : {
                ConditionExpression: `attribute_not_exists(pk) OR (${conditions.join(' AND ')})`,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: values,
              }),
        }),
      ),
    );
  }

  async update(pk: string, sk: string, attributes: Record<string, unknown>): Promise<boolean> {
    const names = Object.keys(attributes);
    if (names.length === 0) return true;
    return conditional(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
          ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:v${i}`, attributes[name]])),
        }),
      ),
    );
  }

  async delete(pk: string, sk: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk } }));
  }
}
