/**
 * The sfcc-orders connector against the SFCC sandbox over HTTP: one SFCC order per Mirakl order whatever the
 * retries, 429/5xx/timeouts, unmapped SKUs, token reuse and expiry, refunds and cancellations applied once each;
 * then through the real batch handler with Powertools idempotency on dynalite (duplicate deliveries, the inbox).
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { classify } from '../../functions/shared/connector/failures';
import { InMemoryLeaseStore, type LeaseStore } from '../../functions/shared/connector/lease';
import { createBatchHandler } from '../../functions/shared/connector/runtime';
import type { BusinessEvent } from '../../functions/shared/events';
import { createHttpClient, type HttpClient } from '../../functions/shared/http';
import { SfccTokens } from '../../functions/shared/sfcc/auth';
import { createSfccOrdersConnector } from '../../functions/shared/sfcc/connector';
import { UnmappedSkuError } from '../../functions/shared/sfcc/mapping';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { lambdaContext } from '../../local/lambda';
import { type SfccSandbox, startSfccSandbox } from '../../local/sandboxes/sfcc';
import { SfccWarehouse } from '../../local/sandboxes/sfcc/warehouse';
import { eventBridgeEnvelope, sqsRecord } from '../support/klaviyoFixtures';
import { fixedSkuMap, historyConfirmed, sandboxSecret, sfccConfig, sfccOrderEvents } from '../support/sfccFixtures';

let sandbox: SfccSandbox;
let now: number;

function httpClient(): HttpClient {
  return createHttpClient({ timeoutMs: 300, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))) });
}

function connector(options: { unmapped?: string[]; tokens?: SfccTokens; http?: HttpClient; leases?: LeaseStore } = {}) {
  const config = sfccConfig(sandbox.url);
  const http = options.http ?? httpClient();
  const skuMap = fixedSkuMap(options.unmapped);
  const tokens = options.tokens ?? new SfccTokens({ sfcc: config.sfcc!, http, secret: sandboxSecret, now: () => now });
  const leases = options.leases ? { leases: options.leases } : {};
  return { skuMap, ...createSfccOrdersConnector({ config, http, secret: sandboxSecret, skuMap: () => skuMap, tokens, ...leases }) };
}

const orderOf = (orderNo: string) => sandbox.store.orders.get(`RefArch\u0000${orderNo}`);
const routes = () => sandbox.requests.map((r) => `${r.route} ${r.status}`);

beforeEach(async () => {
  now = Date.parse('2026-11-22T10:00:00Z');
  sandbox = await startSfccSandbox({ now: () => now, tokenLifetimeSeconds: { am: 1799, slas: 1800 } });
});
afterEach(async () => {
  await sandbox.close();
});

describe('order intake', () => {
  it('creates one marketplace order with the finance attributes', async () => {
    const c = connector();
    const [confirmed] = sfccOrderEvents('debenhams', 'OI-1-A');
    await c.deliverOne(confirmed!);
    const order = orderOf('debenhams-OI-1-A');
    expect(order?.status).toBe('new');
    expect(order?.request.channelType).toBe('marketplace');
    expect(order?.custom).toMatchObject({ c_miraklOrderId: 'OI-1-A', c_miraklGross: 50, c_miraklCommissionTotal: 9.6, c_miraklNet: 40.4 });
    expect(routes()).toEqual(['slasToken 200', 'createOrders 201']);
  });

  it('a duplicate delivery finds the existing order instead of creating a second', async () => {
    const c = connector();
    const [confirmed] = sfccOrderEvents('debenhams', 'OI-2-A');
    await c.deliverOne(confirmed!);
    await c.deliverOne(confirmed!);
    expect(sandbox.store.orders.size).toBe(1);
    expect(sandbox.store.duplicatesRejected).toBe(1);
    expect(routes()).toEqual(['slasToken 200', 'createOrders 201', 'createOrders 400', 'amToken 200', 'getOrder 200']);
  });

  it('a create whose answer was lost is retried, refused as a duplicate and found: still one order', async () => {
    const c = connector();
    sandbox.inject({ kind: 'timeout', times: 1, afterEffect: true, route: 'createOrders' });
    await c.deliverOne(sfccOrderEvents('decathlon', 'OI-3-A')[0]!);
    expect(sandbox.store.orders.size).toBe(1);
    expect(routes()).toContain('getOrder 200');
  });

  it('429 with Retry-After and 5xx are retried; the order is created once', async () => {
    const c = connector();
    sandbox.inject({ kind: 'status', status: 429, times: 1, retryAfterSeconds: 1, route: 'createOrders' });
    sandbox.inject({ kind: 'status', status: 503, times: 1, route: 'createOrders' });
    await c.deliverOne(sfccOrderEvents('debenhams', 'OI-4-A')[0]!);
    expect(routes()).toEqual(['slasToken 200', 'createOrders 429', 'createOrders 503', 'createOrders 201']);
    expect(sandbox.store.orders.size).toBe(1);
  });

  it('5xx past the retry budget fails the record as retryable, and the next delivery creates the order', async () => {
    const c = connector();
    sandbox.inject({ kind: 'status', status: 500, times: 4, route: 'createOrders' });
    const [confirmed] = sfccOrderEvents('debenhams', 'OI-5-A');
    const failure = await c.deliverOne(confirmed!).catch((error: unknown) => classify(error));
    expect(failure).toMatchObject({ retryable: true });
    await c.deliverOne(confirmed!);
    expect(sandbox.store.orders.size).toBe(1);
  });

  it('an unmapped SKU is a sku.unmapped exception and no order at all', async () => {
    const c = connector({ unmapped: ['SKU-2'] });
    const error = await c.deliverOne(sfccOrderEvents('debenhams', 'OI-6-A')[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnmappedSkuError);
    expect(classify(error)).toMatchObject({ retryable: false, exceptionType: 'sku.unmapped' });
    expect(sandbox.requests).toHaveLength(0);
  });
});

describe('history loads', () => {
  function warehouse() {
    for (const productId of ['P-1', 'P-2']) sandbox.store.setInventory('marketplace-inventory', productId, 100);
    return new SfccWarehouse({
      store: sandbox.store,
      siteId: 'RefArch',
      listId: 'marketplace-inventory',
      attributes: sfccConfig(sandbox.url).sfcc!.attributes,
      marketplaces: [{ id: 'debenhams', products: ['P-1', 'P-2'], carriers: ['Royal Mail'] }],
      seed: 7,
      now: () => new Date(now),
      webhook: () => undefined,
    });
  }
  const statusRoutes = () => sandbox.requests.filter((r) => /^updateOrder.*Status$/.test(r.route ?? '')).map((r) => r.route);

  it('create orders kept out of the export, shipped and completed as in Mirakl; the warehouse never takes them', async () => {
    const c = connector();
    const w = warehouse();
    await c.deliverOne(historyConfirmed('debenhams', 'HL-1-A', 'CLOSED'));
    await c.deliverOne(historyConfirmed('debenhams', 'HL-2-A', 'SHIPPING'));
    await c.deliverOne(sfccOrderEvents('debenhams', 'HL-3-A')[0]!);
    for (let tick = 0; tick < 12; tick += 1) await w.tick();

    const closed = orderOf('debenhams-HL-1-A')!;
    expect(closed).toMatchObject({ exportStatus: 'exported', shippingStatus: 'shipped', status: 'completed' });
    expect(closed.custom.c_miraklHistoryImport).toBe(true);
    expect(closed.shipped.size).toBe(0);
    const open = orderOf('debenhams-HL-2-A')!;
    expect(open).toMatchObject({ exportStatus: 'exported', status: 'new' });
    expect(open.shippingStatus).toBeUndefined();
    expect(open.shipped.size).toBe(0);
    // The live order is the only one the warehouse took: exported by it, its stock taken, shipped.
    const live = orderOf('debenhams-HL-3-A')!;
    expect(live.exportStatus).toBe('exported');
    expect(live.custom).not.toHaveProperty('c_miraklHistoryImport');
    expect(live.shipped.size).toBe(1);
    expect(w.stats.ordersAllocated).toBe(1);
    expect(w.stats.shipped).toBe(1);
    expect(statusRoutes()).toEqual(['updateOrderExportStatus', 'updateOrderShippingStatus', 'updateOrderStatus', 'updateOrderExportStatus']);
  });

  it('a retry after a failed status write finishes it on the order the first attempt created', async () => {
    const c = connector();
    sandbox.inject({ kind: 'status', status: 500, times: 4, route: 'updateOrderShippingStatus' });
    const event = historyConfirmed('debenhams', 'HL-4-A', 'RECEIVED');
    expect(classify(await c.deliverOne(event).catch((e: unknown) => e))).toMatchObject({ retryable: true });
    expect(orderOf('debenhams-HL-4-A')).toMatchObject({ exportStatus: 'exported', status: 'new' });
    await c.deliverOne(event);
    await c.deliverOne(event);
    expect(orderOf('debenhams-HL-4-A')).toMatchObject({ exportStatus: 'exported', shippingStatus: 'shipped', status: 'completed' });
    expect(sandbox.store.orders.size).toBe(1);
    // Each redelivery reads the order and PUTs only what is missing: nothing, the second time.
    expect(sandbox.requests.filter((r) => r.route === 'updateOrderExportStatus' || r.route === 'updateOrderStatus').map((r) => r.status)).toEqual([
      204, 204,
    ]);
  });

  it('an order a live event created first is left to the brand as it is', async () => {
    const c = connector();
    await c.deliverOne(sfccOrderEvents('debenhams', 'HL-5-A')[0]!);
    await c.deliverOne(historyConfirmed('debenhams', 'HL-5-A', 'SHIPPED'));
    expect(orderOf('debenhams-HL-5-A')).toMatchObject({ exportStatus: 'not_exported', status: 'new' });
    expect(statusRoutes()).toEqual([]);
  });

  it('a later refund and whole cancellation still update a history order', async () => {
    const c = connector();
    const [, refunded, cancelled] = sfccOrderEvents('debenhams', 'HL-6-A', { backfill: true });
    await c.deliverOne(historyConfirmed('debenhams', 'HL-6-A', 'RECEIVED'));
    await c.deliverOne(refunded!);
    const whole = {
      ...cancelled!,
      detail: { ...cancelled!.detail, eventId: 'debenhams:HL-6-A:cancelled', scope: 'order', cancellation: null, amount: 53.99 },
    } as BusinessEvent;
    await c.deliverOne(whole);
    const order = orderOf('debenhams-HL-6-A')!;
    expect(order).toMatchObject({ status: 'cancelled', exportStatus: 'exported' });
    expect(order.custom).toMatchObject({ c_miraklRefunded: 26.5, c_miraklNet: 0 });
    // A redelivered confirmation does not bring the cancelled order back to completed.
    await c.deliverOne(historyConfirmed('debenhams', 'HL-6-A', 'RECEIVED'));
    expect(orderOf('debenhams-HL-6-A')?.status).toBe('cancelled');
  });
});

describe('tokens', () => {
  it('are fetched once and reused until they near expiry', async () => {
    const c = connector();
    for (let i = 0; i < 5; i++) await c.deliverOne(sfccOrderEvents('debenhams', `TK-${i}-A`)[0]!);
    expect(c.tokens.requests).toBe(1);
    now += 1800 * 1000;
    await c.deliverOne(sfccOrderEvents('debenhams', 'TK-9-A')[0]!);
    expect(c.tokens.requests).toBe(2);
    expect(routes().filter((r) => r.startsWith('slasToken'))).toHaveLength(2);
  });

  it('a token SFCC no longer accepts (401) is renewed once', async () => {
    const c = connector();
    await c.deliverOne(sfccOrderEvents('debenhams', 'TK-A-A')[0]!);
    sandbox.reset();
    await c.deliverOne(sfccOrderEvents('debenhams', 'TK-B-A')[0]!);
    expect(routes()).toEqual(['createOrders 401', 'slasToken 200', 'createOrders 201']);
  });

  it('concurrent callers share one token request', async () => {
    const c = connector();
    await Promise.all([1, 2, 3, 4].map((i) => c.deliverOne(sfccOrderEvents('debenhams', `TC-${i}-A`)[0]!)));
    expect(c.tokens.requests).toBe(1);
  });
});

describe('refunds and cancellations', () => {
  it('each is applied exactly once, with net kept for finance', async () => {
    const c = connector();
    const [confirmed, refunded, cancelled] = sfccOrderEvents('debenhams', 'RC-1-A');
    await c.deliverOne(confirmed!);
    await c.deliverOne(refunded!);
    await c.deliverOne(refunded!);
    await c.deliverOne(cancelled!);
    const order = orderOf('debenhams-RC-1-A')!;
    expect(order.custom).toMatchObject({ c_miraklRefunded: 26.5, c_miraklCancelled: 25, c_miraklNet: -1.5 });
    expect(JSON.parse(order.custom.c_miraklAdjustments as string)).toHaveLength(2);
    expect(order.externalStatus).toBe('mirakl_refunded_and_cancelled');
    expect(sandbox.requests.filter((r) => r.route === 'updateOrder')).toHaveLength(2);
  });

  it('two adjustments of one order at the same time do not overwrite each other', async () => {
    const c = connector();
    const [confirmed, refunded, cancelled] = sfccOrderEvents('debenhams', 'RC-2-A');
    await c.deliverOne(confirmed!);
    await Promise.all([c.deliverOne(refunded!), c.deliverOne(cancelled!)]);
    expect(JSON.parse(orderOf('debenhams-RC-2-A')!.custom.c_miraklAdjustments as string)).toHaveLength(2);
  });

  /**
   * Two Lambda instances each apply one adjustment of the same order. Each one's attribute write waits until the
   * other has read the order (or 300 ms): without a lease both read before either writes.
   */
  async function twoInstancesAtOnce(leases: 'shared' | 'separate'): Promise<unknown[]> {
    const [confirmed, refunded, cancelled] = sfccOrderEvents('debenhams', 'RC-5-A');
    await connector().deliverOne(confirmed!);
    const shared = new InMemoryLeaseStore();
    const signal = () => {
      let resolve!: () => void;
      return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    };
    const read = { first: signal(), second: signal() };
    const instance = (name: 'first' | 'second', other: 'first' | 'second') => {
      const http = httpClient();
      return connector({
        leases: leases === 'shared' ? shared : new InMemoryLeaseStore(),
        http: {
          async request(request) {
            if (request.operation === 'sfcc.updateOrder') await Promise.race([read[other].promise, new Promise((r) => setTimeout(r, 300))]);
            const response = await http.request(request);
            if (request.operation === 'sfcc.getOrder') read[name].resolve();
            return response;
          },
        },
      });
    };
    await Promise.all([instance('first', 'second').deliverOne(refunded!), instance('second', 'first').deliverOne(cancelled!)]);
    return JSON.parse(orderOf('debenhams-RC-5-A')!.custom.c_miraklAdjustments as string) as unknown[];
  }

  it('two Lambdas applying adjustments of one order at once both survive, holding the order lease', async () => {
    expect(await twoInstancesAtOnce('shared')).toHaveLength(2);
    expect(orderOf('debenhams-RC-5-A')!.custom).toMatchObject({ c_miraklRefunded: 26.5, c_miraklCancelled: 25 });
  });

  it('without the lease one of them is lost (what the lease is for)', async () => {
    expect(await twoInstancesAtOnce('separate')).toHaveLength(1);
  });

  it('a refund before its order exists in SFCC is retried later', async () => {
    const c = connector();
    const [, refunded] = sfccOrderEvents('debenhams', 'RC-3-A');
    const error = await c.deliverOne(refunded!).catch((e: unknown) => e);
    expect(classify(error)).toMatchObject({ retryable: true, reason: expect.stringContaining('the confirmed order is not in SFCC yet') });
  });

  it('a whole-order cancellation cancels the SFCC order once, also when redelivered', async () => {
    const c = connector();
    const [confirmed, , cancelled] = sfccOrderEvents('debenhams', 'RC-4-A');
    await c.deliverOne(confirmed!);
    const whole = {
      ...cancelled!,
      id: 'debenhams:RC-4-A:cancelled',
      detail: { ...cancelled!.detail, eventId: 'debenhams:RC-4-A:cancelled', scope: 'order', cancellation: null, amount: 53.99 },
    } as BusinessEvent;
    await c.deliverOne(whole);
    await c.deliverOne(whole);
    const order = orderOf('debenhams-RC-4-A')!;
    expect(order.status).toBe('cancelled');
    expect(order.custom.c_miraklNet).toBe(0);
    expect(sandbox.requests.filter((r) => r.route === 'updateOrderStatus').map((r) => r.status)).toEqual([204]);
  });
});

describe('through the batch handler (idempotency on dynalite, the inbox)', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;

  beforeEach(async () => {
    dynamo = await startLocalDynamo({ tablePrefix: `s${Math.random().toString(36).slice(2, 8)}-` });
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  });
  afterEach(async () => {
    client.destroy();
    await dynamo.close();
  });

  function handler(c: ReturnType<typeof connector>) {
    return createBatchHandler({
      name: 'sfcc-orders',
      connector: c,
      persistenceStore: new DynamoDBPersistenceLayer({ tableName: dynamo.tableNames.idempotency, awsSdkV3Client: client }),
      exceptions: new DynamoExceptionRecorder(DynamoDBDocumentClient.from(client), dynamo.tableNames.exceptions),
      logger: new Logger({ serviceName: 'sfcc-orders', logLevel: 'CRITICAL' }),
      metrics: new Metrics({ namespace: 'MarketBridgeTest', serviceName: 'sfcc-orders' }),
    });
  }

  const records = (events: BusinessEvent[], receiveCount = 1) =>
    events.map((e) => sqsRecord(JSON.stringify(eventBridgeEnvelope(e)), receiveCount));

  it('duplicate deliveries in one batch and across batches leave one SFCC order, without a second create', async () => {
    const c = connector();
    const [confirmed] = sfccOrderEvents('debenhams', 'BH-1-A');
    const handle = handler(c);
    const first = await handle({ Records: records([confirmed!, confirmed!]) }, lambdaContext('sfcc-orders'));
    // The twin in the same batch is told to retry (in progress); the redelivery is recognised as done.
    expect(first.batchItemFailures.length).toBeLessThanOrEqual(1);
    const second = await handle({ Records: records([confirmed!]) }, lambdaContext('sfcc-orders'));
    expect(second.batchItemFailures).toEqual([]);
    expect(sandbox.store.orders.size).toBe(1);
    expect(sandbox.requests.filter((r) => r.route === 'createOrders')).toHaveLength(1);
  });

  it('an unmapped SKU lands in the inbox as sku.unmapped naming the SKU, owned by ecommerce', async () => {
    const c = connector({ unmapped: ['SKU-1'] });
    const batch = { Records: records(sfccOrderEvents('decathlon', 'BH-2-A').slice(0, 1)) };
    // A batch whose every record failed is a full batch failure: Lambda returns it all to the queue.
    await expect(handler(c)(batch, lambdaContext('sfcc-orders'))).rejects.toThrow(/All records failed/);
    const items = (await DynamoDBDocumentClient.from(client).send(new ScanCommand({ TableName: dynamo.tableNames.exceptions }))).Items ?? [];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'sku.unmapped', marketplace: 'decathlon', ref: 'BH-2-A', owner: 'ecommerce' });
    expect(String(items[0]?.reason)).toContain('SKU-1');
    expect(sandbox.store.orders.size).toBe(0);
  });
});
