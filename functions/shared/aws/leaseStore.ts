/**
 * Leases on the `state` table (`lease#<key>`): a conditional put that succeeds when the lease is free or expired,
 * and a conditional delete by its owner. Single conditional writes only, as on dynalite.
 */
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LeaseStore } from '../connector/lease';
import { conditional } from './stateStore';

export const leaseKey = (key: string) => `lease#${key}`;

export class DynamoLeaseStore implements LeaseStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  tryAcquire(key: string, owner: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: leaseKey(key), owner, expiresAt: expiresAtMs },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      ),
    );
  }

  release(key: string, owner: string): Promise<boolean> {
    return conditional(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: leaseKey(key) },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }
}
