/**
 * A buyer's erasure from MarketBridge's own tables. What each table holds of a buyer, and what erasure does:
 *
 * - `exceptions`: an entry may keep its failed events (names, addresses, relay e-mail) so `exceptions retry` can
 *   re-publish them. The payload goes; the entry stays with its order reference, type, reason and counts, which is
 *   what finance and operations reconcile against — the anonymised record.
 * - `state`: order snapshots (order id, states, ids of facts published), cursors, call slots, history-load progress:
 *   no personal data. Snapshots stay: without them the poller would publish the order's facts again.
 * - `idempotency`: hashed event ids and delivery times: no personal data; they stay so nothing is delivered twice.
 * - `mappings`: SKU and carrier maps: no buyer data.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../aws/tables';

export interface OwnRecords {
  /** Idempotent: a second run finds nothing left to erase. */
  eraseBuyer(marketplace: string, identity: string): Promise<{ exceptionsAnonymised: number }>;
}

const BY_MARKETPLACE = TABLES.exceptions.indexes.find((i) => i.name === 'byMarketplace')?.name as string;

export class DynamoOwnRecords implements OwnRecords {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly exceptionsTable: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async eraseBuyer(marketplace: string, identity: string): Promise<{ exceptionsAnonymised: number }> {
    let exceptionsAnonymised = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.exceptionsTable,
          IndexName: BY_MARKETPLACE,
          KeyConditionExpression: 'marketplace = :mp',
          // The identity appears in a stored payload exactly as `"identity":"mirakl:{mp}:{id}"`.
          FilterExpression: 'contains(payload, :identity)',
          ExpressionAttributeValues: { ':mp': marketplace, ':identity': JSON.stringify({ identity }).slice(1, -1) },
          ProjectionExpression: 'id',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        await this.client.send(
          new UpdateCommand({
            TableName: this.exceptionsTable,
            Key: { id: item.id },
            UpdateExpression: 'REMOVE payload SET payloadErasedAt = :at',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeValues: { ':at': this.now().toISOString() },
          }),
        );
        exceptionsAnonymised += 1;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { exceptionsAnonymised };
  }
}
