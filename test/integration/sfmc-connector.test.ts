/**
 * The SFMC connector against the SFMC sandbox over loopback HTTP: one token for many calls (and a new one only on
 * expiry or a 401), rows in the dedicated data extensions, journey gating (forbidden marketplace, open incident,
 * history load), rate limiting (50100 with Retry-After, 50200 blocked), the async upsert for backlogs and history,
 * and exactly one row per fact under duplicates, reordering and lost acknowledgements.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusinessEvent } from '../../functions/shared/events';
import { PermanentError } from '../../functions/shared/connector/failures';
import { createHttpClient } from '../../functions/shared/http';
import { SfmcTokenCache } from '../../functions/shared/sfmc/connector';
import { SFMC_SANDBOX_CLIENT, SFMC_SANDBOX_MID } from '../../local/sandboxes/sfmc';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { CONFIRMED_JOURNEY, SHIPPED_JOURNEY, type SfmcRig, startSfmcRig } from '../support/sfmcFixtures';

let rig: SfmcRig;
afterEach(async () => {
  await rig?.close();
});

const routes = (r: SfmcRig) => r.sandbox.requests.map((q) => q.route);
const table = (r: SfmcRig, key: string) => [...(r.sandbox.rows.get(key)?.values() ?? [])];
const snapshot = (r: SfmcRig) => ({
  customers: table(r, 'MarketBridge_Customers'),
  orders: table(r, 'MarketBridge_Orders'),
  lines: table(r, 'MarketBridge_OrderLines'),
});

async function deliverAll(r: SfmcRig, events: BusinessEvent[]) {
  for (const event of events) await r.connector.deliverOne(event);
}

describe('SFMC connector: token', () => {
  it('one token request serves many calls, including concurrent ones', async () => {
    rig = await startSfmcRig();
    const events = Array.from({ length: 8 }, (_, i) => orderLifeEvents('debenhams', `K${i}-A`, { customerId: `C-${i}` })).flat();
    await Promise.all([deliverAll(rig, events.slice(0, 20)), deliverAll(rig, events.slice(20))]);
    expect(rig.sandbox.tokenRequests).toBe(1);
    expect(routes(rig).filter((r) => r !== 'token').length).toBeGreaterThan(40);
  });

  it('asks for a new token when the cached one nears expiry, and on a 401', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    // Two client machines: this cache, then the rig's connector with its own.
    rig = await startSfmcRig({ sandbox: { now: () => now, clientMachines: 2 } });
    const http = createHttpClient({ timeoutMs: 500 });
    const tokens = new SfmcTokenCache(http, rig.sandbox.url, async () => SFMC_SANDBOX_CLIENT, SFMC_SANDBOX_MID, () => now);
    const first = await tokens.get();
    now += 16 * 60_000;
    expect(await tokens.get()).toBe(first);
    now += 60_000; // within a minute of the 1,079 s lifetime
    const second = await tokens.get();
    expect(second).not.toBe(first);
    expect(rig.sandbox.tokenRequests).toBe(2);

    // The connector's own cache: a token the sandbox expires early is replaced once, on the 401.
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'K9-A')[0] as BusinessEvent);
    const before = rig.sandbox.tokenRequests;
    rig.sandbox.expireTokens();
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'K9-A')[1] as BusinessEvent);
    expect(rig.sandbox.tokenRequests).toBe(before + 1);
    expect(rig.sandbox.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  it('bad credentials are a permanent failure that says what to check', async () => {
    rig = await startSfmcRig();
    const http = createHttpClient({ timeoutMs: 500 });
    const tokens = new SfmcTokenCache(http, rig.sandbox.url, async () => ({ ...SFMC_SANDBOX_CLIENT, clientSecret: 'wrong' }), undefined);
    await expect(tokens.get()).rejects.toThrow(PermanentError);
    await expect(tokens.get()).rejects.toThrow(/client id, secret and account id/);
  });
});

describe('SFMC connector: data extensions and journeys', () => {
  it('writes customers, orders and the order-line ledger keyed by the channel Contact Key', async () => {
    rig = await startSfmcRig();
    await deliverAll(rig, orderLifeEvents('debenhams', 'J1-A'));
    const { customers, orders, lines } = snapshot(rig);
    expect(customers).toEqual([expect.objectContaining({ ContactKey: 'mirakl:debenhams:C-1001', MarketingAllowed: true })]);
    expect(orders).toEqual([expect.objectContaining({ OrderKey: 'debenhams:J1-A', Status: 'SHIPPED', HasRefund: true, HasCancellation: true, HasIncident: true })]);
    expect(lines.map((l) => l.LineKey).sort()).toEqual([
      'debenhams:J1-A:J1-A-1',
      'debenhams:J1-A:J1-A-1:refund:J1-A-r1',
      'debenhams:J1-A:J1-A-2',
      'debenhams:J1-A:J1-A-2:cancel:J1-A-c1',
    ]);
  });

  it('enters journeys for confirmed and shipped facts of a marketplace that allows marketing, after the rows', async () => {
    rig = await startSfmcRig();
    await deliverAll(rig, orderLifeEvents('debenhams', 'J2-A'));
    expect(rig.sandbox.journeyEntries.map((e) => [e.eventDefinitionKey, e.contactKey])).toEqual([
      [CONFIRMED_JOURNEY, 'mirakl:debenhams:C-1001'],
      [SHIPPED_JOURNEY, 'mirakl:debenhams:C-1001'],
    ]);
    const sequence = routes(rig);
    expect(sequence.indexOf('journeyEvent')).toBeGreaterThan(sequence.indexOf('rowset'));
  });

  it('a forbidden marketplace enters only transactional journeys; an order with an open incident enters none', async () => {
    rig = await startSfmcRig({ connector: { journeys: { confirmed: { eventDefinitionKey: CONFIRMED_JOURNEY, transactional: true }, shipped: { eventDefinitionKey: SHIPPED_JOURNEY } } } });
    await deliverAll(rig, orderLifeEvents('decathlon', 'J3-A'));
    expect(rig.sandbox.journeyEntries.map((e) => e.eventDefinitionKey)).toEqual([CONFIRMED_JOURNEY]);
    const incident = structuredClone(orderLifeEvents('debenhams', 'J4-A')[0]) as BusinessEvent<'Order Confirmed'>;
    incident.detail.order.hasIncident = true;
    await rig.connector.deliverOne(incident);
    expect(rig.sandbox.journeyEntries).toHaveLength(1);
    expect(table(rig, 'MarketBridge_Orders').map((o) => o.OrderKey).sort()).toEqual(['debenhams:J4-A', 'decathlon:J3-A']);
  });

  it('a row the data extension cannot hold is a permanent failure naming the SFMC error code', async () => {
    rig = await startSfmcRig({ connector: { dataExtensions: { customers: 'MarketBridge_Orders' } } });
    await expect(rig.connector.deliverOne(orderLifeEvents('debenhams', 'J5-A')[0] as BusinessEvent)).rejects.toThrow(/errorcode 10000/);
  });
});

describe('SFMC connector: rate limiting and faults', () => {
  it('429 errorcode 50100 honours Retry-After; 50200 (blocked) backs off; both then succeed', async () => {
    rig = await startSfmcRig();
    rig.sandbox.inject({ kind: 'status', status: 429, times: 1, retryAfterSeconds: 2, route: 'rowset' });
    rig.sandbox.inject({ kind: 'blocked', times: 1, route: 'journeyEvent' });
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'R1-A')[0] as BusinessEvent);
    expect(rig.sandbox.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(rig.sandbox.journeyEntries).toHaveLength(1);
  });

  it('a repeat after a 429 or a block takes its own pacer turn: every REST request SFMC receives was paced', async () => {
    let turns = 0;
    rig = await startSfmcRig({ pacer: { take: async () => void (turns += 1) } as never });
    rig.sandbox.inject({ kind: 'status', status: 429, times: 1, retryAfterSeconds: 1, route: 'rowset' });
    rig.sandbox.inject({ kind: 'blocked', times: 1, route: 'journeyEvent' });
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'R2-A')[0] as BusinessEvent);
    const rest = rig.sandbox.requests.filter((r) => r.route !== 'token');
    expect(rest.filter((r) => r.status === 429)).toHaveLength(2);
    expect(turns).toBe(rest.length);
  });

  it('exactly one row per fact under duplicates, reordering and lost acknowledgements', async () => {
    const events = orderLifeEvents('debenhams', 'X1-A').filter((e) => e.detailType !== 'Order Confirmed' && e.detailType !== 'Order Shipped');
    rig = await startSfmcRig();
    await deliverAll(rig, events);
    const expected = snapshot(rig);
    await rig.close();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...events), { maxLength: 8 }), fc.integer({ min: 0, max: 2 }), async (extra, lostAcks) => {
        rig = await startSfmcRig();
        try {
          if (lostAcks > 0) rig.sandbox.inject({ kind: 'timeout', afterEffect: true, times: lostAcks, route: 'rowset' });
          for (const event of [...extra, ...events]) await rig.connector.deliverOne(event).catch(() => rig.connector.deliverOne(event));
          const got = snapshot(rig);
          expect(got.lines.map((l) => l.LineKey).sort()).toEqual(expected.lines.map((l) => l.LineKey).sort());
          expect(got.customers).toHaveLength(expected.customers.length);
          expect(got.orders).toHaveLength(1);
        } finally {
          await rig.close();
        }
      }),
      { numRuns: 8 },
    );
  });
});

describe('SFMC connector: backlogs and history loads', () => {
  it('history loads use the async upsert, polled to completion, and enter no journey', async () => {
    rig = await startSfmcRig({ sandbox: { asyncPolls: 2 } });
    const events = Array.from({ length: 5 }, (_, i) => orderLifeEvents('debenhams', `H${i}-A`, { backfill: true, customerId: `C-${i}` })).flat();
    await rig.connector.deliverMany?.(events);
    expect(routes(rig).filter((r) => r === 'asyncUpsert')).toHaveLength(3);
    expect(routes(rig).filter((r) => r === 'rowset' || r === 'journeyEvent' || r === 'journeyBatch')).toEqual([]);
    expect(table(rig, 'MarketBridge_Customers')).toHaveLength(5);
    expect(table(rig, 'MarketBridge_OrderLines')).toHaveLength(20);
    expect(rig.sandbox.journeyEntries).toEqual([]);
  });

  it('async row errors fail the bulk call permanently with the error codes', async () => {
    rig = await startSfmcRig({ connector: { dataExtensions: { orders: 'MarketBridge_Customers' } } });
    await expect(rig.connector.deliverMany?.(orderLifeEvents('debenhams', 'H9-A', { backfill: true }))).rejects.toThrow(/row errors: UnexpectedError/);
  });

  it('a live backlog uses rowsets of ≤ 50 and a single journey entry per fact', async () => {
    rig = await startSfmcRig();
    const events = Array.from({ length: 12 }, (_, i) => orderLifeEvents('debenhams', `B${i}-A`, { customerId: `C-${i}` })[0] as BusinessEvent);
    await rig.connector.deliverMany?.(events);
    expect(routes(rig).filter((r) => r === 'rowset')).toHaveLength(3);
    expect(rig.sandbox.journeyEntries).toHaveLength(12);
  });
});
