/**
 * Fault injection on the Mirakl return path of the local pipeline: the real poller publishes orders waiting for
 * acceptance, the deployable mirakl-acceptance Lambda decides them (OR21), sfcc-orders places the accepted ones in
 * the SFCC sandbox, whose warehouse takes their stock (signed `stock.changed` → mirakl-stock → STO01) and ships them
 * (signed `shipment.dispatched` → mirakl-tracking → OR23 then OR24). Each scenario breaks Mirakl's answers to those
 * writes and, once every queue is empty, counts in the Mirakl sandbox that each order was decided exactly once (one
 * applied OR21, accepted or refused as its stock says), that each shipment was applied exactly once (one applied
 * OR24, the SFCC tracking on the order; OR23 sent again only where a lost answer forces it), and that every offer's
 * quantity is SFCC's available-to-sell less the buffer once the stock run has caught up. Poison records end as
 * exceptions in the DLQ.
 *
 * Date is faked (timers are not) so the suite can let a minute pass for Mirakl's call-frequency slots and STO01
 * imports, and let back early a message waiting out its visibility timeout; the clock moves only while every
 * connector is idle, so no visibility timeout expires under a batch still running.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sellable } from '../../functions/shared/commerce/acceptance';
import { DynamoMappingTable } from '../../functions/shared/commerce/dynamoMappings';
import { availableToSellLedger } from '../../functions/shared/commerce/stockPush';
import { type Config, marketplaceById, parseConfig } from '../../functions/shared/config';
import { type BusinessEvent, businessEvent, eventIds } from '../../functions/shared/events';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import type { LocalRuntime } from '../../local/runtime';
import type { MiraklOperation } from '../../local/sandboxes/mirakl';
import { type AttachedSfccSandbox, sandboxProductId } from '../../local/sandboxes/sfcc/attach';
import { UNLISTED_CARRIERS } from '../../local/sandboxes/sfcc/warehouse';
import { type TestRuntime, startTestRuntime } from '../support/localRuntime';
import { localDynamo } from '../support/operations';
import { sfccConfig } from '../support/sfccFixtures';
import { type NetworkFaults, installNetworkFaults } from './network';
import { connectorOf, emptyDeadLetterQueues, expectNoDeadLetters, redriveTwice, settled } from './pipeline';

/**
 * Above the longest batch: a Mirakl call timing out (the HTTP layer's 10 s) and its retry. Waiting it out costs
 * nothing: the suite moves the clock past it once the connectors are idle.
 */
const VISIBILITY_SECONDS = 30;
const MAX_RECEIVES = 2;
/** Longer than any retry wait (Retry-After 1 s, backoff ≤ 2 s) but short of a hung request. */
const QUIET_MS = 2_500;
/** Longer than a request held past the HTTP layer's 10 s timeout. */
const QUIET_THROUGH_TIMEOUTS_MS = 12_000;
const HELD_PAST_TIMEOUT_MS = 10_500;

const MARKETPLACES = ['debenhams', 'decathlon'] as const;
type Marketplace = (typeof MARKETPLACES)[number];
const LIST = 'marketplace-inventory';
/** Offers with stock for every scenario; the short one has nothing to sell after the buffer, so Decathlon refuses it. */
const PLENTY: Record<Marketplace, string> = { debenhams: 'DB-FRG-4410-100', decathlon: 'DC-QUE-8493322' };
const SHORT = 'DC-TRI-8559901';
const RETURN_PATH = ['mirakl-acceptance', 'mirakl-stock', 'mirakl-tracking'] as const;

let local: TestRuntime;
let runtime: LocalRuntime;
let network: NetworkFaults;

interface PlacedOrder {
  mp: Marketplace;
  id: string;
  /** What its stock calls for. */
  decision: 'accepted' | 'refused';
}

const sfcc = () => runtime.destinations['sfcc-orders'] as AttachedSfccSandbox;
const world = () => runtime.sandbox.world;
const mirakl = () => runtime.sandbox.faults;
const miraklOrigin = () => new URL(runtime.sandbox.url).origin;

/**
 * Debenhams leaves what it cannot serve, Decathlon refuses it, so OR21 carries both decisions. The warehouse's
 * carriers Mirakl does not list are mapped by the brand, so every parcel is dispatchable; the poison scenario brings
 * its own unknown carrier.
 */
function returnPathConfig(): Config {
  const base = sfccConfig();
  const registered: Record<Marketplace, string> = { debenhams: 'EVRI', decathlon: 'COLISSIMO' };
  return parseConfig({
    ...base,
    marketplaces: base.marketplaces.map((mp) => ({
      ...mp,
      carrierMap: Object.fromEntries(UNLISTED_CARRIERS.map((name) => [name, registered[mp.id as Marketplace]])),
      ...(mp.id === 'decathlon' ? { acceptance: { ...mp.acceptance, whenOutOfStock: 'refuse' } } : {}),
    })),
    connectors: {
      'sfcc-orders': { enabled: true, secretName: base.sfcc?.secretName },
      'mirakl-acceptance': { enabled: true },
      'mirakl-stock': { enabled: true },
      'mirakl-tracking': { enabled: true },
    },
  });
}

/** Moves every clock of the process on (handlers, sandboxes, call slots, visibility timeouts); timers untouched. */
function later(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/** How long the connectors must be still before the clock may move: a scenario holding requests raises it. */
let quietMs = QUIET_MS;
const settle = () =>
  settled(runtime, { timeout: 120_000, skipVisibility: { quietMs, pass: () => later((VISIBILITY_SECONDS + 1) * 1000) } });

/** A minute later for Mirakl: the call slots (OR11, STO01) are free again and stock imports have completed. */
async function aMinutePasses(): Promise<void> {
  await settle();
  later(61_000);
}

async function poll(): Promise<void> {
  await aMinutePasses();
  for (const mp of MARKETPLACES) await runtime.runPoll(mp);
}

function placeOrders(mp: Marketplace, count: number, decision: PlacedOrder['decision'] = 'accepted'): PlacedOrder[] {
  const sku = decision === 'accepted' ? PLENTY[mp] : SHORT;
  return Array.from({ length: count }, () => ({
    mp,
    id: world().createOrder(mp, { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: sku, quantity: 1 }] }).order_id,
    decision,
  }));
}

/** Writes Mirakl applied (2xx, even when the client never saw the answer) for one order. */
function applied(order: PlacedOrder, operation: MiraklOperation): number {
  return runtime.sandbox.requests.filter(
    (r) => r.operation === operation && r.marketplace === order.mp && r.path.includes(`/orders/${order.id}/`) && r.status >= 200 && r.status < 300,
  ).length;
}

const sfccOrder = (order: PlacedOrder) => [...sfcc().store.orders.values()].find((o) => o.custom.c_miraklOrderId === order.id);
const shipment = (order: PlacedOrder) => [...(sfccOrder(order)?.shipped.values() ?? [])][0];

const exceptions = () => local.exceptions();

/** Puts an event on the bus, as the webhook does for SFCC's callbacks. */
function onBus(event: BusinessEvent): void {
  runtime.bus.publish({ source: event.source, detailType: event.detailType, detail: event.detail as unknown as Record<string, unknown> });
}

/** Polls the waiting orders and waits for the decisions. */
async function decide(): Promise<void> {
  await poll();
  await settle();
}

/** One applied OR21 each, with the decision its stock calls for (an accepted order may have moved on since). */
function expectDecidedOnce(orders: readonly PlacedOrder[]): void {
  for (const order of orders) {
    const state = world().get(order.mp, order.id)?.order_state;
    if (order.decision === 'refused') expect(state, `${order.id} refused`).toBe('REFUSED');
    else expect(['WAITING_ACCEPTANCE', 'REFUSED'], `${order.id} accepted`).not.toContain(state);
    expect(applied(order, 'OR21'), `${order.id} OR21 applied`).toBe(1);
  }
}

/** The buyers pay; the confirmed orders reach SFCC, whose warehouse ships every one of them. */
async function payAndShip(orders: readonly PlacedOrder[]): Promise<void> {
  for (const order of orders) world().debit(order.mp, order.id);
  await poll();
  await settle();
  for (const order of orders) expect(sfccOrder(order), `${order.id} in SFCC`).toBeDefined();
  await shipEverything();
}

/** Ticks the warehouse until nothing Mirakl still has in SHIPPING waits in it, then waits for dispatch. */
async function shipEverything(): Promise<void> {
  const waiting = () =>
    [...sfcc().store.orders.values()].filter((o) => {
      const mp = o.custom.c_miraklMarketplace;
      const id = o.custom.c_miraklOrderId;
      return typeof mp === 'string' && typeof id === 'string' && o.shipped.size < o.request.shipments.length && world().get(mp, id)?.order_state === 'SHIPPING';
    });
  // A minute first: the stock changes the warehouse reports on its first tick find the STO01 slots free.
  await aMinutePasses();
  for (let tick = 0; tick < 60 && waiting().length > 0; tick += 1) await sfcc().tick();
  expect(waiting().map((o) => o.request.orderNo)).toEqual([]);
  await settle();
}

/**
 * Each order shipped once with SFCC's tracking: one applied OR24, and OR23 applied once per order plus once per
 * answer the scenario lost after Mirakl had applied it (`resentTracking`), always with the same tracking.
 */
function expectShippedOnce(orders: readonly PlacedOrder[], resentTracking = 0): void {
  let tracking = 0;
  for (const order of orders) {
    const shipped = world().get(order.mp, order.id);
    expect(shipped?.order_state, `${order.id} shipped`).toBe('SHIPPED');
    expect(shipped?.shipping_tracking, `${order.id} tracking`).toBe(shipment(order)?.trackingNumber);
    expect(shipped?.shipping_carrier_code, `${order.id} registered carrier`).toEqual(expect.any(String));
    expect(applied(order, 'OR24'), `${order.id} OR24 applied`).toBe(1);
    tracking += applied(order, 'OR23');
  }
  expect(tracking, 'OR23 applied').toBe(orders.length + resentTracking);
}

/** SFCC's available-to-sell of a product now. */
function availableToSell(productId: string): number {
  const record = sfcc().store.inventory.get(LIST)?.get(productId);
  return record ? Math.max(0, record.allocation - record.turnover) : 0;
}

/**
 * Once the scheduled stock run has caught up (it follows outstanding imports, re-reads SFCC and pushes what
 * differs) and a minute has passed for Mirakl to apply the import: every mapped offer at ATS less the buffer.
 */
async function expectStockRight(): Promise<void> {
  await aMinutePasses();
  for (const mp of MARKETPLACES) await runtime.runScheduled(`mirakl-stock ${mp}`);
  later(61_000);
  runtime.sandbox.stock.settle();
  for (const mp of MARKETPLACES) {
    const buffer = marketplaceById(runtime.config, mp).stockBuffer;
    const mapped = world().offers(mp).filter((offer) => sandboxProductId(offer.sku) !== undefined);
    expect(mapped.length, `${mp}: offers mapped to an SFCC product`).toBeGreaterThan(0);
    for (const offer of mapped) {
      expect(offer.quantity, `${mp} ${offer.sku}`).toBe(sellable(availableToSell(sandboxProductId(offer.sku)!), buffer));
    }
  }
  // The imports followed up, so the next scenario starts with none outstanding.
  for (const mp of MARKETPLACES) await runtime.runScheduled(`mirakl-stock ${mp}`);
}

/** A whole round: decided, paid, shipped, stock caught up; every scripted fault fired, nothing dead-lettered. */
async function roundTrip(orders: readonly PlacedOrder[], options: { resentTracking?: number } = {}): Promise<void> {
  await decide();
  expectDecidedOnce(orders);
  await payAndShip(orders.filter((o) => o.decision === 'accepted'));
  expectShippedOnce(
    orders.filter((o) => o.decision === 'accepted'),
    options.resentTracking,
  );
  expect(mirakl().pending(), 'every scripted Mirakl fault fired').toBe(0);
  expect(network.pending(miraklOrigin()), 'every scripted network fault fired').toBe(0);
  await expectStockRight();
  expectNoDeadLetters(runtime);
}

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  // Before the runtime: connectors build their HTTP clients (and keep `fetch`) on their first invocation.
  network = installNetworkFaults();
  local = await startTestRuntime('return-faults', {
    config: returnPathConfig(),
    seed: 47,
    queues: { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVES, pollIntervalMs: 25 },
  });
  runtime = local.runtime;
  for (const mp of MARKETPLACES) sfcc().store.setInventory(LIST, sandboxProductId(PLENTY[mp])!, 10_000);
  sfcc().store.setInventory(LIST, sandboxProductId(SHORT)!, 1);
  // The seeded history first (decided, shipped, stock pushed), so every scenario starts from empty queues.
  await decide();
  await shipEverything();
  await expectStockRight();
  emptyDeadLetterQueues(runtime);
}, 150_000);

afterAll(async () => {
  network?.uninstall();
  await local?.stop();
  vi.useRealTimers();
});

describe('fault injection on the Mirakl return path', () => {
  it('429 storms with Retry-After, 5xx and timeouts on OR21, OR23, OR24 and STO01', async () => {
    const orders = [...placeOrders('debenhams', 3), ...placeOrders('decathlon', 2), ...placeOrders('decathlon', 1, 'refused')];
    mirakl().inject({ operation: 'OR21', status: 429, retryAfterSeconds: 1, times: 4 });
    mirakl().inject({ operation: 'OR21', status: 503, times: 2 });
    // Mirakl accepts the order but answers after the client gave up: the retry finds it decided.
    mirakl().delay({ operation: 'OR21', ms: HELD_PAST_TIMEOUT_MS, times: 1, afterEffect: true });
    mirakl().inject({ operation: 'OR23', status: 429, retryAfterSeconds: 1, times: 4 });
    mirakl().inject({ operation: 'OR23', status: 500, times: 2 });
    mirakl().inject({ operation: 'OR24', status: 502, times: 1 });
    mirakl().delay({ operation: 'OR24', ms: HELD_PAST_TIMEOUT_MS, times: 1 });
    // STO01 is never retried in-process (a lost answer could mean a second import): the stock run catches up.
    mirakl().inject({ operation: 'STO01', status: 429, retryAfterSeconds: 1, times: 1 });
    mirakl().inject({ operation: 'STO01', status: 500, times: 1 });
    quietMs = QUIET_THROUGH_TIMEOUTS_MS;
    try {
      await roundTrip(orders);
    } finally {
      quietMs = QUIET_MS;
    }
    for (const operation of ['OR21', 'OR23', 'STO01'] as const) {
      expect(runtime.sandbox.requests.some((r) => r.operation === operation && r.status === 429), operation).toBe(true);
    }
  }, 150_000);

  it('connection resets, before and after Mirakl applied the request', async () => {
    const orders = [...placeOrders('debenhams', 2), ...placeOrders('decathlon', 2), ...placeOrders('decathlon', 1, 'refused')];
    for (const operation of ['OR21', 'OR23', 'OR24', 'STO01'] as const) {
      mirakl().resetConnection({ operation, times: 1 });
      mirakl().resetConnection({ operation, times: 1, afterEffect: true });
    }
    // The OR23 whose answer was lost is sent again, with the same tracking; a lost OR21 or OR24 answer is met by
    // ORDER_INVALID_STATE on the retry, which means done.
    await roundTrip(orders, { resentTracking: 1 });
  }, 90_000);

  it('a connector crash after the Mirakl write and before the ack', async () => {
    const orders = [...placeOrders('debenhams', 2), ...placeOrders('decathlon', 2)];
    // OR21, OR24 and STO01 land, then the Lambda dies: its batch comes back after the visibility timeout, its
    // idempotency record still in progress until the Lambda's time has run out.
    for (const write of [/\/accept$/, /\/ship$/, /\/offers\/stock\/imports$/]) network.crash(miraklOrigin(), 1, write);
    // The retried shipment sends OR23 again before OR24 finds the order shipped.
    await roundTrip(orders, { resentTracking: 1 });
  }, 90_000);

  it('duplicate and out-of-order deliveries', async () => {
    const from = runtime.events().length;
    const orders = [...placeOrders('debenhams', 2), ...placeOrders('decathlon', 1), ...placeOrders('decathlon', 1, 'refused')];
    await roundTrip(orders);
    const returnPath = new Set<string>(RETURN_PATH.flatMap((name) => CONNECTOR_ROUTES[name]));
    const ours = runtime.events().slice(from).filter(({ event }) => returnPath.has(event['detail-type']));
    expect(new Set(ours.map(({ event }) => event['detail-type']))).toEqual(returnPath);
    // Every return-path fact of the round again, twice, newest first: as a replay, an overlap re-read and a retry.
    for (const { event } of [...ours, ...ours].reverse()) {
      runtime.bus.publish({ source: event.source, detailType: event['detail-type'], detail: event.detail });
    }
    // Two new SFCC readings of one product arriving newest first: the older must not win.
    const productId = sandboxProductId(PLENTY.debenhams)!;
    const now = availableToSell(productId);
    const reading = (id: string, at: number, ats: number) =>
      businessEvent('Stock Changed', {
        schemaVersion: 1,
        eventId: eventIds.stockChanged('debenhams', id),
        marketplace: 'debenhams',
        occurredAt: new Date(at).toISOString(),
        items: [{ productId, availableToSell: ats }],
      });
    onBus(reading(`late-${from}`, Date.now(), now));
    await settle();
    onBus(reading(`stale-${from}`, Date.now() - 60_000, now + 500));
    await settle();
    const documents = DynamoDBDocumentClient.from(localDynamo(runtime));
    const ledger = await availableToSellLedger(new DynamoMappingTable(documents, runtime.aws.dynamo.tableNames.mappings), 'debenhams');
    documents.destroy();
    expect(ledger.get(productId)).toBe(now);
    expectDecidedOnce(orders);
    expectShippedOnce(orders.filter((o) => o.decision === 'accepted'));
    await expectStockRight();
    expectNoDeadLetters(runtime);
  }, 90_000);

  it('Mirakl refusing OR21, then OR24, past the receive budget: exceptions and DLQ; redriven twice, applied once', async () => {
    const orders = [...placeOrders('debenhams', 2), ...placeOrders('decathlon', 1)];
    const expectDeadLettered = async (connector: 'mirakl-acceptance' | 'mirakl-tracking') => {
      expect(connectorOf(runtime, connector).dlq.depth().visible, `${connector} DLQ`).toBe(orders.length);
      const failed = (await exceptions()).filter((e) => e.component === connector && e.type === 'delivery.failed');
      for (const order of orders) expect(failed.some((e) => e.ref === order.id), `${connector} ${order.id}`).toBe(true);
    };

    mirakl().inject({ operation: 'OR21', status: 503, times: 1_000 });
    await decide();
    await expectDeadLettered('mirakl-acceptance');
    for (const order of orders) expect(world().get(order.mp, order.id)?.order_state).toBe('WAITING_ACCEPTANCE');
    mirakl().clear();
    await redriveTwice(runtime, ['mirakl-acceptance'], settle);
    expectDecidedOnce(orders);

    mirakl().inject({ operation: 'OR24', status: 503, times: 1_000 });
    await payAndShip(orders);
    await expectDeadLettered('mirakl-tracking');
    for (const order of orders) expect(world().get(order.mp, order.id)?.order_state).toBe('SHIPPING');
    mirakl().clear();
    await redriveTwice(runtime, ['mirakl-tracking'], settle);
    // OR23 went through on each receive and on the redrive; OR24 once, on the redrive.
    expectShippedOnce(orders, orders.length * MAX_RECEIVES);
    await expectStockRight();
    expectNoDeadLetters(runtime);
  }, 150_000);

  it('poison records: an unmapped SKU, a carrier nobody maps and malformed messages end as exceptions in the DLQ', async () => {
    const good = placeOrders('debenhams', 1);
    const unmapped = world().createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 }] });
    // Accepted and paid by hand; SFCC reports it shipped by a carrier neither the map nor SH21 knows.
    const strayId = placeOrders('debenhams', 1)[0]!.id;
    world().accept('debenhams', strayId);
    world().debit('debenhams', strayId);
    const stray = world().get('debenhams', strayId)!;
    onBus(
      businessEvent('Shipment Dispatched', {
        schemaVersion: 1,
        eventId: eventIds.shipmentDispatched('debenhams', strayId, 'me-1'),
        marketplace: 'debenhams',
        occurredAt: new Date().toISOString(),
        orderId: strayId,
        shipmentId: 'me-1',
        carrier: 'Pigeon Post Express',
        trackingNumber: 'PP000111222',
        trackingUrl: null,
        lines: stray.order_lines.map((line) => ({ lineId: line.order_line_id, quantity: line.quantity })),
      }),
    );
    for (const name of RETURN_PATH) connectorOf(runtime, name).queue.send('{"detail":{"marketplace":"debenhams"},"not":"an event"}');
    await decide();

    const dead = Object.fromEntries(RETURN_PATH.map((name) => [name, connectorOf(runtime, name).dlq.depth().visible]));
    expect(dead).toEqual({ 'mirakl-acceptance': 2, 'mirakl-stock': 1, 'mirakl-tracking': 2 });
    const recorded = await exceptions();
    for (const name of RETURN_PATH) expect(recorded.some((e) => e.component === name && e.type === 'event.invalid'), name).toBe(true);
    expect(recorded.find((e) => e.ref === unmapped.order_id)).toMatchObject({ type: 'sku.unmapped', component: 'mirakl-acceptance' });
    expect(recorded.find((e) => e.ref === strayId)).toMatchObject({ type: 'carrier.unknown', component: 'mirakl-tracking' });
    expect(world().get('debenhams', unmapped.order_id)?.order_state).toBe('WAITING_ACCEPTANCE');
    expect(world().get('debenhams', strayId)?.order_state).toBe('SHIPPING');
    for (const operation of ['OR23', 'OR24'] as const) expect(applied({ mp: 'debenhams', id: strayId, decision: 'accepted' }, operation)).toBe(0);
    // The good order next to them was never held up.
    expectDecidedOnce(good);
    await payAndShip(good);
    expectShippedOnce(good);
  }, 90_000);
});
