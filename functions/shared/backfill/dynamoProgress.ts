/** History-load progress in the `state` table, one item per load, each save conditional on the version read. */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { conditional } from '../aws/stateStore';
import type { BackfillProgress, BackfillProgressStore, StoredProgress } from './progress';

const key = (loadId: string) => `backfill#${loadId}`;

export class DynamoProgressStore implements BackfillProgressStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(loadId: string): Promise<StoredProgress | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key(loadId) }, ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    return { progress: result.Item.progress as BackfillProgress, version: Number(result.Item.version) };
  }

  async save(progress: BackfillProgress, expectedVersion: number | undefined): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key(progress.loadId), progress, version: (expectedVersion ?? 0) + 1 },
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      ),
    );
  }
}
