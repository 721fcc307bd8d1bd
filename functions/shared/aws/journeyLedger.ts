/**
 * The journey-entry ledger on the `state` table: one item per event, `journey#<eventId>`, written with single
 * conditional writes (no transactions, as on dynalite). Items carry `expiration` (epoch seconds) on the idempotency
 * records' horizon: past it the event itself would be delivered again, so its marker has no use either.
 */
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { IDEMPOTENCY_TTL_SECONDS } from '../connector/runtime';
import type { JourneyEntryLedger, JourneyEntryMarker, JourneyEntryState } from '../sfmc/journeyLedger';
import { conditional } from './stateStore';

export const journeyMarkerKey = (eventId: string) => `journey#${eventId}`;

export class DynamoJourneyLedger implements JourneyEntryLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  private item(marker: JourneyEntryMarker, state: JourneyEntryState, eventInstanceId?: string) {
    const at = this.now();
    return {
      pk: journeyMarkerKey(marker.eventId),
      state,
      eventDefinitionKey: marker.eventDefinitionKey,
      marketplace: marker.marketplace,
      orderId: marker.orderId,
      updatedAt: new Date(at).toISOString(),
      expiration: Math.floor(at / 1000) + IDEMPOTENCY_TTL_SECONDS,
      ...(eventInstanceId === undefined ? {} : { eventInstanceId }),
    };
  }

  async claim(marker: JourneyEntryMarker): Promise<'claimed' | JourneyEntryState> {
    const claimed = await conditional(() =>
      this.client.send(
        new PutCommand({ TableName: this.tableName, Item: this.item(marker, 'entering'), ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
    if (claimed) return 'claimed';
    const found = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: journeyMarkerKey(marker.eventId) }, ConsistentRead: true }),
    );
    const state = found.Item?.state;
    if (state === 'entering' || state === 'entered') return state;
    // Released between the two calls (a concurrent delivery's entry was refused): the record's retry claims again.
    throw new Error(`journey entry marker of ${marker.eventId} was released while being read`);
  }

  async entered(marker: JourneyEntryMarker, eventInstanceId: string | undefined): Promise<void> {
    // Only the claiming delivery gets here, so the marker is its own to overwrite.
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: this.item(marker, 'entered', eventInstanceId) }));
  }

  async release(marker: JourneyEntryMarker): Promise<void> {
    // Never drops an `entered` marker: that entry happened.
    await conditional(() =>
      this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: journeyMarkerKey(marker.eventId) },
          ConditionExpression: '#state = :entering',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':entering': 'entering' },
        }),
      ),
    );
  }
}
