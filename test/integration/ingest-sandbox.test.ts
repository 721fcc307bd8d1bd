/**
 * Ingest end to end over real HTTP and the real DynamoDB wire protocol: the Mirakl sandbox, the Mirakl client,
 * the DynamoDB state adapter on the embedded store, and the ingest run. Only the bus is a collector here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../functions/shared/aws/stateStore';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { runIngest } from '../../functions/shared/ingest/ingestRun';
import {
  CollectingExceptions,
  CollectingPublisher,
  MemoryState,
  openGate,
  RecordedOrders,
} from '../../functions/shared/ingest/memory';
import { miraklOrdersSource } from '../../functions/shared/ingest/miraklSource';
import type { IngestDependencies } from '../../functions/shared/ingest/ports';
import { createMiraklClient } from '../../functions/shared/mirakl/client';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';

const API_KEY = 'sandbox-test-key';
const debenhams = marketplaceById(sandboxConfig, 'debenhams');
let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
});
afterAll(async () => {
  documents.destroy();
  await dynamo.close();
});

let sandbox: MiraklSandbox;
let clock: number;
let run = 0;

beforeEach(async () => {
  clock = Date.parse('2026-11-22T09:00:00Z');
  sandbox = await startMiraklSandbox({
    port: 0,
    seed: 11,
    clock: () => new Date(clock),
    marketplaces: [{ id: 'debenhams', apiKey: API_KEY, currency: 'GBP' }],
  });
  sandbox.world.seedHistory();
  run += 1;
});
afterEach(async () => sandbox.close());

/** Real adapters; each test gets its own marketplace key space in the shared embedded store. */
function pipeline() {
  const marketplace = { ...debenhams, id: `debenhams${run}`, baseUrl: `${sandbox.url}/debenhams` };
  const state = new DynamoStateStore(documents, dynamo.tableNames.state);
  const publisher = new CollectingPublisher();
  const exceptions = new CollectingExceptions();
  const sleeps: number[] = [];
  const client = createMiraklClient({
    baseUrl: marketplace.baseUrl,
    apiKey: API_KEY,
    retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 5_000 },
    sleep: async (ms) => void sleeps.push(ms),
  });
  const deps: IngestDependencies = {
    snapshots: state,
    cursors: state,
    pending: state,
    publisher,
    exceptions,
    gate: openGate,
    orders: async () => miraklOrdersSource(client),
    log: { info: () => undefined, warn: () => undefined },
    now: () => new Date(clock),
  };
  return { marketplace, state, publisher, exceptions, sleeps, deps };
}

/** What the facts of the sandbox's current orders are, derived without HTTP or DynamoDB. */
async function referenceIds(marketplaceId: string): Promise<string[]> {
  const publisher = new CollectingPublisher();
  const memory = new MemoryState();
  const deps: IngestDependencies = {
    snapshots: memory,
    cursors: memory,
    pending: memory,
    publisher,
    exceptions: new CollectingExceptions(),
    gate: openGate,
    orders: async () => new RecordedOrders(sandbox.world.orders('debenhams')),
    log: { info: () => undefined, warn: () => undefined },
    now: () => new Date(clock),
  };
  await runIngest(deps, { ...debenhams, id: marketplaceId }, 'poll');
  return publisher.published.map((e) => e.id).sort();
}

/** Enough paid orders that a poll needs several OR11 pages. */
function addPaidOrders(count: number) {
  for (let i = 0; i < count; i += 1) {
    const order = sandbox.world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE' });
    sandbox.world.accept('debenhams', order.order_id);
    sandbox.world.requestDebit('debenhams', order.order_id);
    sandbox.world.debit('debenhams', order.order_id);
  }
}

const or11Pages = () => sandbox.requests.filter((r) => r.operation === 'OR11').map((r) => [r.query.offset, r.status]);

describe('ingest against the Mirakl sandbox and the embedded store', () => {
  it('a first poll publishes exactly the facts the orders imply, in max=100 pages', async () => {
    addPaidOrders(130);
    const p = pipeline();
    const report = await runIngest(p.deps, p.marketplace, 'poll');
    const ids = p.publisher.published.map((e) => e.id.replace(`debenhams${run}:`, 'debenhams:'));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual((await referenceIds('debenhams')).sort());
    expect(report.pages).toBe(Math.ceil(sandbox.world.orders('debenhams').length / 100));
    expect(sandbox.requests.every((r) => r.query.max === '100')).toBe(true);
    expect(report.cursor?.advanced).toBe(true);
  });

  it('a poll killed mid-pagination and restarted neither loses nor duplicates an event', async () => {
    addPaidOrders(150);
    const p = pipeline();
    sandbox.faults.failPage({ operation: 'OR11', offset: 100, status: 500, times: 3 });
    await expect(runIngest(p.deps, p.marketplace, 'poll')).rejects.toThrow(/OR11/);
    expect(await p.state.readCursor(p.marketplace.id)).toBeUndefined();
    const beforeRestart = p.publisher.published.length;
    expect(beforeRestart).toBeGreaterThan(0);

    clock += 60_000;
    await runIngest(p.deps, p.marketplace, 'poll');
    const ids = p.publisher.published.map((e) => e.id.replace(`debenhams${run}:`, 'debenhams:'));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual((await referenceIds('debenhams')).sort());
  });

  it('429 with Retry-After mid-pagination is waited out as Mirakl asks, and the poll completes', async () => {
    addPaidOrders(120);
    const p = pipeline();
    sandbox.faults.failPage({ operation: 'OR11', offset: 100, status: 429, retryAfterSeconds: 2, times: 1 });
    await runIngest(p.deps, p.marketplace, 'poll');
    expect(p.sleeps).toEqual([2_000]);
    expect(or11Pages()).toEqual([
      ['0', 200],
      ['100', 429],
      ['100', 200],
    ]);
    expect(p.publisher.published.map((e) => e.id.replace(`debenhams${run}:`, 'debenhams:')).sort()).toEqual(
      (await referenceIds('debenhams')).sort(),
    );
  });

  it('a 5xx mid-pagination is retried with backoff', async () => {
    addPaidOrders(120);
    const p = pipeline();
    sandbox.faults.failPage({ operation: 'OR11', offset: 100, status: 503, times: 1 });
    const report = await runIngest(p.deps, p.marketplace, 'poll');
    // Full jitter may pick a zero wait, so the retry itself is what is asserted.
    expect(or11Pages()).toEqual([
      ['0', 200],
      ['100', 503],
      ['100', 200],
    ]);
    expect(report.cursor?.advanced).toBe(true);
  });

  it('successive polls while the marketplace evolves publish each fact once, overlap notwithstanding', async () => {
    const p = pipeline();
    for (let poll = 0; poll < 12; poll += 1) {
      await runIngest(p.deps, p.marketplace, 'poll');
      clock += 60_000;
      sandbox.world.tick();
    }
    await runIngest(p.deps, p.marketplace, 'poll');
    const ids = p.publisher.published.map((e) => e.id.replace(`debenhams${run}:`, 'debenhams:'));
    expect(new Set(ids).size).toBe(ids.length);
    // Facts of earlier states (awaiting acceptance, opened incidents) are extra; the final state's are all there.
    expect(ids).toEqual(expect.arrayContaining(await referenceIds('debenhams')));
    // Each poll asked from its cursor minus the overlap, and the sandbox re-delivered overlap orders.
    const starts = sandbox.requests.filter((r) => r.operation === 'OR11' && r.query.offset === '0').map((r) => r.query.start_update_date);
    expect(starts).toHaveLength(13);
  });
});
