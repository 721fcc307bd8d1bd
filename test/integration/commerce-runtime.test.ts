/**
 * `npm start` with the Mirakl return path: the real poller publishes orders waiting for acceptance, the
 * deployable `mirakl-acceptance` handler accepts those whose SKUs map and whose SFCC (sandbox) stock covers them
 * and raises sku.unmapped for the others; SFCC stock changes reach Mirakl as one STO01 with the buffer applied;
 * an SFCC shipment closes its order with the mapped carrier, and an unknown carrier is an exception.
 */
import { untilDrained } from '../support/operations';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Config, parseConfig } from '../../functions/shared/config';
import { type BusinessEvent, businessEvent, eventIds } from '../../functions/shared/events';
import { loadHandler, REPO_ROOT } from '../../local/connectors';
import { lambdaContext } from '../../local/lambda';
import type { LocalRuntime } from '../../local/runtime';
import { attachSfccSandbox } from '../../local/sandboxes/sfcc/attach';
import { type TestRuntime, startTestRuntime } from '../support/localRuntime';
import { sfccConfig } from '../support/sfccFixtures';

let local: TestRuntime;
let runtime: LocalRuntime;
/** Waiting for acceptance with little time left; created by the first test, watched by the last. */
let lateOrderId = '';

function commerceConfig(): Config {
  const base = sfccConfig();
  return parseConfig({
    ...base,
    connectors: {
      'mirakl-acceptance': { enabled: true },
      'mirakl-stock': { enabled: true },
      'mirakl-tracking': { enabled: true },
    },
  });
}

const drained = (name: string) => untilDrained(runtime, name);

/** Puts an SFCC event on the bus, as the webhook does for SFCC callbacks. */
function onBus(event: BusinessEvent): void {
  runtime.bus.publish({ source: event.source, detailType: event.detailType, detail: event.detail as unknown as Record<string, unknown> });
}

beforeAll(async () => {
  local = await startTestRuntime('commerce', {
    config: commerceConfig(),
    connectors: [
      { name: 'mirakl-acceptance', module: 'functions/mirakl-acceptance.ts' },
      { name: 'mirakl-stock', module: 'functions/mirakl-stock.ts' },
      { name: 'mirakl-tracking', module: 'functions/mirakl-tracking.ts' },
    ],
    destinationSandboxes: { 'sfcc-orders': attachSfccSandbox },
    seed: 31,
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3, pollIntervalMs: 50 },
  });
  runtime = local.runtime;
}, 60_000);

afterAll(() => local?.stop());

describe('local runtime: the Mirakl return path', () => {
  it('accepts waiting orders that map and are in stock; unmapped SKUs become exceptions', async () => {
    const world = runtime.sandbox.world;
    const mapped = world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DB-JMP-2210-NVY-M', quantity: 1 }] });
    const unmapped = world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 }] });
    // Created 65 hours ago: 7 hours left of the 72-hour window, inside the 12-hour margin (the watch, below).
    lateOrderId = world.createOrder('debenhams', {
      state: 'WAITING_ACCEPTANCE',
      createdAt: new Date(Date.now() - 65 * 3_600_000),
      lines: [{ offerSku: 'UNMAPPED-DB-9002-RED-S', quantity: 1 }],
    }).order_id;
    // The first poll reads back initialLookbackHours (72): it sees the late order too.
    await runtime.runPoll('debenhams');
    await drained('mirakl-acceptance');
    expect(world.get('debenhams', mapped.order_id)?.order_state).toBe('WAITING_DEBIT');
    expect(world.get('debenhams', unmapped.order_id)?.order_state).toBe('WAITING_ACCEPTANCE');
    const unmappedException = (await local.exceptions()).find((e) => e.ref === unmapped.order_id);
    expect(unmappedException).toMatchObject({ type: 'sku.unmapped', component: 'mirakl-acceptance' });
  }, 90_000);

  it('pushes SFCC stock changes to Mirakl with the buffer, in one stock import', async () => {
    onBus(
      businessEvent('Stock Changed', {
        schemaVersion: 1,
        eventId: eventIds.stockChanged('decathlon', 'rt-1'),
        marketplace: 'decathlon',
        occurredAt: new Date().toISOString(),
        items: [
          { productId: 'DC-QUE-8493322', availableToSell: 40 },
          { productId: 'DC-TRI-8559901', availableToSell: 0 },
        ],
      }),
    );
    await drained('mirakl-stock');
    const imports = runtime.sandbox.requests.filter((r) => r.operation === 'STO01' && r.marketplace === 'decathlon');
    expect(imports.map((r) => r.status)).toEqual([201]);
    // The sandbox applies an import once it completes, a few seconds after STO01.
    await vi.waitFor(
      () => {
        runtime.sandbox.stock.settle();
        const quantity = (sku: string) => runtime.sandbox.world.offers('decathlon').find((o) => o.sku === sku)?.quantity;
        expect(quantity('DC-QUE-8493322')).toBe(39); // decathlon buffer 1
        expect(quantity('DC-TRI-8559901')).toBe(0);
      },
      { timeout: 15_000, interval: 500 },
    );
  }, 60_000);

  it('closes an order on an SFCC shipment with a mapped carrier; an unknown carrier is an exception', async () => {
    const world = runtime.sandbox.world;
    const order = world.createOrder('decathlon', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DC-DOM-8376620', quantity: 1 }] });
    world.accept('decathlon', order.order_id);
    world.debit('decathlon', order.order_id);
    const other = world.createOrder('decathlon', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DC-DOM-8376620', quantity: 1 }] });
    world.accept('decathlon', other.order_id);
    world.debit('decathlon', other.order_id);
    const shipment = (orderId: string, carrier: string) =>
      businessEvent('Shipment Dispatched', {
        schemaVersion: 1,
        eventId: eventIds.shipmentDispatched('decathlon', orderId, 'S1'),
        marketplace: 'decathlon',
        occurredAt: new Date().toISOString(),
        orderId,
        shipmentId: 'S1',
        carrier,
        trackingNumber: '6A00000000001',
        trackingUrl: null,
        lines: [{ lineId: `${orderId}-1`, quantity: 1 }],
      });
    onBus(shipment(order.order_id, 'Colissimo'));
    onBus(shipment(other.order_id, 'Brouette Express'));
    await vi.waitFor(async () => {
      expect(world.get('decathlon', order.order_id)).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'COLISSIMO' });
      expect((await local.exceptions()).some((e) => e.type === 'carrier.unknown' && e.ref === other.order_id)).toBe(true);
    }, { timeout: 30_000, interval: 200 });
    expect(world.get('decathlon', other.order_id)?.order_state).toBe('SHIPPING');
  }, 60_000);

  it('the scheduled handlers: a stock run follows its import; the watch flags an order close to auto-refusal', async () => {
    type Scheduled = (input: object, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
    const stock = await loadHandler<Scheduled>(resolve(REPO_ROOT, 'functions/mirakl-stock.ts'));
    const run = (await stock({ marketplace: 'decathlon' }, lambdaContext('marketbridge-mirakl-stock'))) as { completed: { status: string }[] };
    expect(run.completed.map((c) => c.status)).toEqual(['COMPLETE']);

    const watch = await loadHandler<Scheduled>(resolve(REPO_ROOT, 'functions/acceptance-watch.ts'));
    const results = (await watch({}, lambdaContext('marketbridge-acceptance-watch'))) as { marketplace: string; atRisk: number }[];
    expect(results.find((r) => r.marketplace === 'debenhams')?.atRisk).toBeGreaterThanOrEqual(1);
    const atRisk = (await local.exceptions()).find((e) => e.type === 'acceptance.deadline-at-risk' && e.ref === lateOrderId);
    expect(atRisk).toMatchObject({ severity: 'critical', component: 'acceptance-watch' });
    expect(String(atRisk?.reason)).toMatch(/7(\.\d)? h left/);
  }, 60_000);
});
