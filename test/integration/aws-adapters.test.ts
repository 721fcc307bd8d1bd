import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { DynamoJourneyLedger, journeyMarkerKey } from '../../functions/shared/aws/journeyLedger';
import { DynamoStateStore } from '../../functions/shared/aws/stateStore';
import { IDEMPOTENCY_TTL_SECONDS } from '../../functions/shared/connector/runtime';
import type { OrderSnapshot } from '../../functions/shared/ingest/orderFacts';
import { createCallFrequencyGuard } from '../../functions/shared/mirakl/callFrequency';
import { type JourneyEntryLedger, type JourneyEntryMarker, MemoryJourneyLedger } from '../../functions/shared/sfmc/journeyLedger';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { describeCallSlotPolicy } from '../support/callSlotPolicy';

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;
let state: DynamoStateStore;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  state = new DynamoStateStore(documents, dynamo.tableNames.state);
});
afterAll(async () => {
  documents.destroy();
  await dynamo.close();
});

const snapshot = (orderId: string, emitted: string[] = []): OrderSnapshot => ({
  orderId,
  state: 'SHIPPING',
  lastUpdated: '2026-11-20T10:00:00.000Z',
  lineStates: { [`${orderId}-1`]: 'SHIPPING' },
  incidentsOpened: {},
  emitted,
  unknownStatesSeen: [],
});

describe('order snapshots on DynamoDB (embedded store)', () => {
  it('saves with optimistic versions and refuses a stale writer', async () => {
    expect(await state.save('debenhams', snapshot('V-A', ['a']), undefined)).toBe(true);
    expect(await state.save('debenhams', snapshot('V-A', ['b']), undefined)).toBe(false);
    const loaded = await state.load('debenhams', ['V-A', 'missing']);
    expect(loaded.get('V-A')).toEqual({ snapshot: snapshot('V-A', ['a']), version: 1 });
    expect(loaded.has('missing')).toBe(false);
    expect(await state.save('debenhams', snapshot('V-A', ['a', 'c']), 1)).toBe(true);
    expect(await state.save('debenhams', snapshot('V-A', ['z']), 1)).toBe(false);
    expect((await state.load('debenhams', ['V-A'])).get('V-A')?.snapshot.emitted).toEqual(['a', 'c']);
  });

  it('loads more than one BatchGet worth of snapshots, keyed per marketplace', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => `BG${i}-A`);
    for (const id of ids) await state.save('decathlon', snapshot(id), undefined);
    expect((await state.load('decathlon', ids)).size).toBe(130);
    expect((await state.load('debenhams', ids)).size).toBe(0);
  });
});

describe('cursor', () => {
  it('advances only from the value the run read', async () => {
    expect(await state.readCursor('c-mp')).toBeUndefined();
    expect(await state.advanceCursor('c-mp', undefined, '2026-11-22T10:00:00.000Z')).toBe(true);
    expect(await state.advanceCursor('c-mp', undefined, '2026-11-22T11:00:00.000Z')).toBe(false);
    expect(await state.advanceCursor('c-mp', '2026-11-22T10:00:00.000Z', '2026-11-22T11:00:00.000Z')).toBe(true);
    expect(await state.readCursor('c-mp')).toBe('2026-11-22T11:00:00.000Z');
  });
});

describe('pending webhook re-reads', () => {
  it('adds ids as a set and removes only the ids that were re-read', async () => {
    await state.add('p-mp', ['X-A', 'Y-A']);
    await state.add('p-mp', ['Y-A', 'Z-A']);
    expect(await state.list('p-mp')).toEqual(['X-A', 'Y-A', 'Z-A']);
    await state.remove('p-mp', ['X-A', 'Y-A']);
    expect(await state.list('p-mp')).toEqual(['Z-A']);
  });
});

describe('Mirakl call slots', () => {
  it('grant OR11 at most once per minute per marketplace, however many callers race', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    const guard = createCallFrequencyGuard(state, 'default', { now: () => now });
    const race = await Promise.all(Array.from({ length: 5 }, () => guard.acquire('slot-mp', 'OR11')));
    expect(race.filter((g) => g.granted)).toHaveLength(1);
    now += 59_000;
    expect((await guard.acquire('slot-mp', 'OR11')).granted).toBe(false);
    expect((await guard.acquire('other-mp', 'OR11')).granted).toBe(true);
    now += 1_000;
    expect((await guard.acquire('slot-mp', 'OR11')).granted).toBe(true);
  });

  it('an external partner waits 15 minutes', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    const guard = createCallFrequencyGuard(state, 'external-partner', { now: () => now });
    expect((await guard.acquire('partner-mp', 'OR11')).granted).toBe(true);
    now += 14 * 60_000;
    expect((await guard.acquire('partner-mp', 'OR11')).granted).toBe(false);
    now += 60_000;
    expect((await guard.acquire('partner-mp', 'OR11')).granted).toBe(true);
  });
});

describeCallSlotPolicy('DynamoDB state table (embedded store)', () => state);

describe('exception inbox entries', () => {
  it('a repeated failure of the same record updates one entry with a count and first/last seen', async () => {
    let now = new Date('2026-11-22T10:00:00Z');
    const recorder = new DynamoExceptionRecorder(documents, dynamo.tableNames.exceptions, () => now);
    const input = {
      type: 'identity.missing',
      marketplace: 'debenhams',
      ref: 'E-A',
      reason: 'no customer',
      component: 'poller',
    } as const;
    await recorder.record(input);
    now = new Date('2026-11-22T11:00:00Z');
    await recorder.record({ ...input, reason: 'still no customer' });
    const item = await documents.send(
      new GetCommand({ TableName: dynamo.tableNames.exceptions, Key: { id: 'identity.missing#debenhams#poller#E-A' } }),
    );
    expect(item.Item).toMatchObject({
      type: 'identity.missing',
      owner: 'ecommerce',
      severity: 'medium',
      status: 'open',
      occurrences: 2,
      firstSeen: '2026-11-22T10:00:00.000Z',
      lastSeen: '2026-11-22T11:00:00.000Z',
      reason: 'still no customer',
    });
  });
});

/** SFMC's journey-entry ledger: the same contract in memory and on DynamoDB (single conditional writes). */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const marker = (orderId: string): JourneyEntryMarker => ({
  eventId: `debenhams:${orderId}:confirmed`,
  eventDefinitionKey: 'APIEvent-marketbridge-order-confirmed',
  marketplace: 'debenhams',
  orderId,
});

describe.each([
  ['in memory', () => new MemoryJourneyLedger()],
  ['on DynamoDB', () => new DynamoJourneyLedger(documents, dynamo.tableNames.state, () => NOW)],
] as [string, () => JourneyEntryLedger][])('journey-entry ledger %s', (_, ledger) => {
  it('grants one claim per event however many deliveries race for it', async () => {
    const journeys = ledger();
    const results = await Promise.all(Array.from({ length: 8 }, () => journeys.claim(marker('L1-A'))));
    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r === 'entering')).toHaveLength(7);
    expect(await journeys.claim(marker('L2-A'))).toBe('claimed');
  });

  it('a released claim can be taken again; an entered one is never released', async () => {
    const journeys = ledger();
    expect(await journeys.claim(marker('L3-A'))).toBe('claimed');
    await journeys.release(marker('L3-A'));
    expect(await journeys.claim(marker('L3-A'))).toBe('claimed');
    await journeys.entered(marker('L3-A'), 'instance-1');
    await journeys.release(marker('L3-A'));
    expect(await journeys.claim(marker('L3-A'))).toBe('entered');
  });
});

describe('SFMC journey-entry markers on DynamoDB', () => {
  it('keep the order, the journey, the instance id and the idempotency horizon, under journey#<eventId>', async () => {
    const journeys = new DynamoJourneyLedger(documents, dynamo.tableNames.state, () => NOW);
    await journeys.claim(marker('L4-A'));
    await journeys.entered(marker('L4-A'), 'instance-4');
    const { Item } = await documents.send(
      new GetCommand({ TableName: dynamo.tableNames.state, Key: { pk: journeyMarkerKey('debenhams:L4-A:confirmed') } }),
    );
    expect(Item).toEqual({
      pk: 'journey#debenhams:L4-A:confirmed',
      state: 'entered',
      eventDefinitionKey: 'APIEvent-marketbridge-order-confirmed',
      marketplace: 'debenhams',
      orderId: 'L4-A',
      eventInstanceId: 'instance-4',
      updatedAt: '2026-11-22T10:00:00.000Z',
      expiration: NOW / 1000 + IDEMPOTENCY_TTL_SECONDS,
    });
  });
});
