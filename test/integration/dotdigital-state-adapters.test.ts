/**
 * The state-table adapters behind order leases and Dotdigital's pending enrolments, on the embedded DynamoDB
 * (dynalite: single conditional writes only): the same behaviour as their in-memory twins the unit tests use.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEnrolmentStore, PENDING_SHARDS } from '../../functions/shared/aws/enrolmentStore';
import { DynamoLeaseStore, leaseKey } from '../../functions/shared/aws/leaseStore';
import { InMemoryLeaseStore, createOrderLease } from '../../functions/shared/connector/lease';
import { InMemoryEnrolmentStore, type PendingEnrolment, runEnrolments } from '../../functions/shared/dotdigital/enrolments';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ tablePrefix: `l${Math.random().toString(36).slice(2, 8)}-` });
  documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true },
  });
});
afterAll(async () => {
  documents.destroy();
  await dynamo.close();
});

describe('leases on the state table', () => {
  it('refuse a held lease, let an expired one be taken over, and release only for their owner', async () => {
    const leases = new DynamoLeaseStore(documents, dynamo.tableNames.state);
    const key = 'dotdigital#debenhams#LS1-A';
    expect(await leases.tryAcquire(key, 'a', 1_000, 2_000)).toBe(true);
    expect(await leases.tryAcquire(key, 'b', 1_999, 3_000)).toBe(false);
    expect(await leases.release(key, 'b')).toBe(false);
    expect(await leases.tryAcquire(key, 'b', 2_000, 4_000)).toBe(true);
    expect(await leases.release(key, 'a')).toBe(false);
    const item = await documents.send(new GetCommand({ TableName: dynamo.tableNames.state, Key: { pk: leaseKey(key) } }));
    expect(item.Item).toEqual({ pk: 'lease#dotdigital#debenhams#LS1-A', owner: 'b', expiresAt: 4_000 });
    expect(await leases.release(key, 'b')).toBe(true);
    expect(await leases.tryAcquire(key, 'c', 2_001, 5_000)).toBe(true);
  });

  it('serialise two instances writing one order at once: the second waits for the first to release', async () => {
    const store = new DynamoLeaseStore(documents, dynamo.tableNames.state);
    const instance = () => createOrderLease('sfcc-orders', store, { wait: { polls: 40, pollIntervalMs: 10 } });
    const [one, two] = [instance(), instance()];
    const log: string[] = [];
    const work = (name: string) => async () => {
      log.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      log.push(`${name} out`);
    };
    const order = { marketplace: 'debenhams', orderId: 'LS2-A' };
    await Promise.all([one.run([order], work('one')), two.run([order], work('two'))]);
    const [first, second] = [log[0]?.split(' ')[0], log[2]?.split(' ')[0]];
    expect(log).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
  });
});

describe("Dotdigital's pending enrolments on the state table", () => {
  const enrolment = (contactId: number, n: number): PendingEnrolment => ({
    programme: 7001,
    contactId,
    marketplace: 'debenhams',
    orderId: `PE${n}-A`,
    eventId: `debenhams:PE${n}-A:confirmed`,
    occurredAt: `2026-11-22T10:00:${String(n % 60).padStart(2, '0')}Z`,
  });

  it('keep each fact once across shards, hand back what was added, and forget what was removed', async () => {
    const store = new DynamoEnrolmentStore(documents, dynamo.tableNames.state);
    const all = Array.from({ length: 3 * PENDING_SHARDS }, (_, i) => enrolment(1000 + i, i));
    for (const e of all) await store.add(e);
    await store.add({ ...all[0]! });
    await store.add({ ...all[0]!, programme: 7002 });
    const found = await store.pending([7001]);
    expect(found).toHaveLength(all.length);
    expect(new Set(found.map((e) => JSON.stringify(e)))).toEqual(new Set(all.map((e) => JSON.stringify(e))));
    await store.remove(all.slice(0, 10));
    expect(await store.pending([7001])).toHaveLength(all.length - 10);
    expect(await store.pending([7002])).toHaveLength(1);
  });

  it('record one call in flight at a time, its answer, and a call log replaced only from the version read', async () => {
    const store = new DynamoEnrolmentStore(documents, dynamo.tableNames.state);
    const call = { id: 'call-1', programme: 7001, enrolments: [enrolment(1, 1)], startedAt: '2026-11-22T10:00:00.000Z' };
    expect(await store.begin(call)).toBe(true);
    expect(await store.begin({ ...call, id: 'call-2' })).toBe(false);
    await store.answered('call-1', 'enrolment-guid');
    expect(await store.inFlight()).toEqual({ ...call, enrolmentId: 'enrolment-guid' });
    await store.end('call-2');
    expect(await store.inFlight()).toBeDefined();
    await store.end('call-1');
    expect(await store.inFlight()).toBeUndefined();

    const empty = await store.callLog();
    expect(empty).toEqual({ calls: [], version: 0 });
    expect(await store.writeCallLog(empty, [{ at: 1, programme: 7001 }])).toBe(true);
    expect(await store.writeCallLog(empty, [{ at: 2, programme: 7001 }])).toBe(false);
    const first = await store.callLog();
    expect(first).toEqual({ calls: [{ at: 1, programme: 7001 }], version: 1 });
    expect(await store.writeCallLog(first, [{ at: 1, programme: 7001 }, { at: 2, programme: 7002 }])).toBe(true);
    expect(await store.writeCallLog(first, [])).toBe(false);
  });

  it('carry a whole run as the in-memory store does', async () => {
    const runOn = async (store: DynamoEnrolmentStore | InMemoryEnrolmentStore, leases: DynamoLeaseStore | InMemoryLeaseStore) => {
      for (let i = 0; i < 5; i++) await store.add({ ...enrolment(5000 + i, 500 + i), programme: 7100 });
      const calls: number[][] = [];
      const result = await runEnrolments({
        store,
        leases,
        programmes: [7100],
        enrol: async (_programme, contactIds) => {
          calls.push(contactIds);
          return { kind: 'enrolled', enrolmentId: 'guid' };
        },
        exceptions: { record: async () => undefined },
      });
      return { result, calls, left: await store.pending([7100]) };
    };
    const dynamoRun = await runOn(new DynamoEnrolmentStore(documents, dynamo.tableNames.state), new DynamoLeaseStore(documents, dynamo.tableNames.state));
    expect(dynamoRun).toEqual(await runOn(new InMemoryEnrolmentStore(), new InMemoryLeaseStore()));
    expect(dynamoRun.calls).toEqual([[5000, 5001, 5002, 5003, 5004]]);
  });
});
