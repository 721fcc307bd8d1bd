/**
 * The commerce loop of `npm start`, driven step by step (no timers): Mirakl orders accepted (OR21) are created in
 * the SFCC sandbox with the finance attributes; its warehouse takes their stock and reports it to our webhook as
 * signed `stock.changed` callbacks, which reach Mirakl as one STO01 with the buffer applied; it ships them and
 * reports signed `shipment.dispatched` callbacks, which close the Mirakl orders with OR23 (mapped carrier) then OR24,
 * or become `carrier.unknown` without OR24 when the warehouse used a carrier Mirakl does not list.
 */
import { untilDrained } from '../support/operations';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../functions/shared/config';
import type { LocalRuntime } from '../../local/runtime';
import { type AttachedSfccSandbox, attachSfccSandbox } from '../../local/sandboxes/sfcc/attach';
import { UNLISTED_CARRIERS } from '../../local/sandboxes/sfcc/warehouse';
import { type TestRuntime, startTestRuntime } from '../support/localRuntime';
import { sfccConfig } from '../support/sfccFixtures';

const LIST = 'marketplace-inventory';
/** Debenhams' stock buffer in the sandbox configuration. */
const BUFFER = 2;
/** Low stock: two orders take 3 of 4, leaving 1, below the buffer. */
const LOW = 'DB-KET-6001-SLV';
const PLENTY = 'DB-FRG-4410-100';
const UK_CODES: Record<string, string> = { 'Royal Mail': 'ROYAL_MAIL', 'DPD UK': 'DPD_UK', Evri: 'EVRI' };

let local: TestRuntime;
let runtime: LocalRuntime;
let sfcc: AttachedSfccSandbox;
const orderIds: string[] = [];

const drained = (name: string) => untilDrained(runtime, name);

/**
 * Moves every clock in the process (handlers, sandboxes, call-frequency slots) on, timers untouched; only while the
 * queues are idle, so no visibility timeout expires under a record in flight.
 */
function later(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

const sfccOrder = (orderId: string) => [...sfcc.store.orders.values()].find((o) => o.custom.c_miraklOrderId === orderId);
const ats = (productId: string) => {
  const record = sfcc.store.inventory.get(LIST)?.get(productId);
  return record ? Math.max(0, record.allocation - record.turnover) : undefined;
};

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  const base = sfccConfig();
  local = await startTestRuntime('loop', {
    config: parseConfig({
      ...base,
      connectors: {
        'sfcc-orders': { enabled: true, secretName: base.sfcc?.secretName },
        'mirakl-acceptance': { enabled: true },
        'mirakl-stock': { enabled: true },
        'mirakl-tracking': { enabled: true },
      },
    }),
    connectors: [
      { name: 'sfcc-orders', module: 'functions/sfcc-orders.ts' },
      { name: 'mirakl-acceptance', module: 'functions/mirakl-acceptance.ts' },
      { name: 'mirakl-stock', module: 'functions/mirakl-stock.ts' },
      { name: 'mirakl-tracking', module: 'functions/mirakl-tracking.ts' },
    ],
    destinationSandboxes: { 'sfcc-orders': attachSfccSandbox },
    seed: 11,
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3, pollIntervalMs: 50 },
  });
  runtime = local.runtime;
  sfcc = runtime.destinations['sfcc-orders'] as AttachedSfccSandbox;
}, 60_000);

afterAll(async () => {
  await local?.stop();
  vi.useRealTimers();
});

describe('local commerce loop: Mirakl → SFCC → warehouse → Mirakl', () => {
  it('accepts orders and creates them in SFCC with the finance attributes', async () => {
    const world = runtime.sandbox.world;
    sfcc.store.setInventory(LIST, LOW, 4);
    sfcc.store.setInventory(LIST, PLENTY, 40);
    // Both fit the low stock on their own (4 − buffer 2 ≥ 2, ≥ 1): acceptance reads SFCC before either is placed.
    orderIds.push(world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: LOW, quantity: 2 }] }).order_id);
    orderIds.push(world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: LOW, quantity: 1 }] }).order_id);
    for (let i = 0; i < 6; i += 1) {
      orderIds.push(world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: PLENTY, quantity: 1 }] }).order_id);
    }
    await runtime.runPoll('debenhams');
    await drained('mirakl-acceptance');
    for (const id of orderIds) expect(world.get('debenhams', id)?.order_state).toBe('WAITING_DEBIT');
    expect(runtime.sandbox.requests.filter((r) => r.operation === 'OR21' && orderIds.some((id) => r.path.includes(id)))).toHaveLength(orderIds.length);

    for (const id of orderIds) world.debit('debenhams', id);
    // OR11 is once a minute per marketplace: the next poll comes a minute later.
    later(61_000);
    await runtime.runPoll('debenhams');
    await drained('sfcc-orders');
    for (const id of orderIds) {
      const order = sfccOrder(id);
      expect(order?.status).toBe('new');
      const custom = order?.custom ?? {};
      expect(custom).toMatchObject({ c_miraklMarketplace: 'debenhams' });
      const [gross, commission, net] = [custom.c_miraklGross, custom.c_miraklCommissionTotal, custom.c_miraklNet].map(Number);
      expect(commission).toBeGreaterThan(0);
      expect(net).toBeCloseTo((gross as number) - (commission as number), 2);
      expect(order?.request.productItems[0]).toMatchObject({ c_miraklOrderLineId: expect.any(String), c_miraklCommissionFee: expect.any(Number) });
    }
  }, 120_000);

  it('reports the stock the orders took; Mirakl gets it less the buffer, never below zero, in one STO01', async () => {
    const importsBefore = runtime.sandbox.stock.totals().debenhams?.imports ?? 0;
    await sfcc.tick();
    expect(sfcc.warehouse.stats.callbacksSent).toBeGreaterThan(0);
    expect(ats(LOW)).toBeLessThanOrEqual(1);
    await drained('mirakl-stock');
    expect(runtime.events().some((e) => e.event['detail-type'] === 'Stock Changed' && e.event.detail.marketplace === 'debenhams')).toBe(true);
    expect(runtime.sandbox.stock.totals().debenhams?.imports).toBe(importsBefore + 1);
    const offered = (sku: string) => runtime.sandbox.world.offers('debenhams').find((o) => o.sku === sku)?.quantity;
    // Mirakl applies an import once it completes, some seconds after STO01.
    later(11_000);
    runtime.sandbox.stock.settle();
    expect(offered(LOW)).toBe(0);
    expect(offered(PLENTY)).toBe((ats(PLENTY) as number) - BUFFER);
  }, 60_000);

  it('ships the orders: a mapped carrier closes the Mirakl order with OR23 then OR24; an unknown one is carrier.unknown', async () => {
    const world = runtime.sandbox.world;
    for (let i = 0; i < 40 && orderIds.some((id) => sfccOrder(id)?.shipped.size === 0); i += 1) await sfcc.tick();
    const shipments = orderIds.map((id) => ({ id, shipment: [...(sfccOrder(id)?.shipped.values() ?? [])][0] }));
    for (const { shipment } of shipments) expect(shipment?.trackingNumber).toMatch(/^\d{14}$/);
    const unlisted = new Set<string>(UNLISTED_CARRIERS);
    const carrierOf = (s: (typeof shipments)[number]) => String(s.shipment?.custom.c_carrierCode);
    const known = shipments.filter((s) => !unlisted.has(carrierOf(s)));
    const unknown = shipments.filter((s) => unlisted.has(carrierOf(s)));
    // The seed gives both cases.
    expect(known.length).toBeGreaterThan(0);
    expect(unknown.length).toBeGreaterThan(0);

    await drained('mirakl-tracking');
    await vi.waitFor(
      async () => {
        for (const s of known) {
          expect(world.get('debenhams', s.id)).toMatchObject({
            order_state: 'SHIPPED',
            shipping_carrier_code: UK_CODES[carrierOf(s)],
            shipping_tracking: s.shipment?.trackingNumber,
          });
        }
        const open = await local.exceptions();
        for (const s of unknown) {
          expect(open.find((e) => e.type === 'carrier.unknown' && e.ref === s.id)?.reason).toContain(carrierOf(s));
        }
      },
      { timeout: 30_000, interval: 200 },
    );
    const calls = (id: string) => runtime.sandbox.requests.filter((r) => r.path.includes(id) && r.status < 300).map((r) => r.operation);
    for (const s of known) expect(calls(s.id).filter((op) => op === 'OR23' || op === 'OR24')).toEqual(['OR23', 'OR24']);
    for (const s of unknown) {
      expect(calls(s.id)).not.toContain('OR24');
      expect(world.get('debenhams', s.id)?.order_state).toBe('SHIPPING');
    }
  }, 120_000);

  it('the scheduled SFCC shipments read finds the same shipments: same event ids, still one OR23 and one OR24 each', async () => {
    expect(runtime.scheduledJobs).toEqual(['mirakl-stock debenhams', 'mirakl-stock decathlon', 'acceptance-watch', 'sfcc-shipments']);
    const dispatched = () =>
      runtime.events().filter((e) => e.event['detail-type'] === 'Shipment Dispatched' && orderIds.includes(String(e.event.detail.orderId)));
    const fromWebhook = dispatched().map((e) => e.event.detail.eventId);
    expect(fromWebhook).toHaveLength(orderIds.length);
    await runtime.runScheduled('sfcc-shipments');
    await drained('mirakl-tracking');
    const all = dispatched().map((e) => e.event.detail.eventId);
    expect(all.slice(fromWebhook.length).sort()).toEqual([...fromWebhook].sort());
    const shipped = runtime.sandbox.requests.filter((r) => r.status < 300 && orderIds.some((id) => r.path.includes(id)));
    const count = (op: string) => shipped.filter((r) => r.operation === op).length;
    const known = orderIds.filter((id) => runtime.sandbox.world.get('debenhams', id)?.order_state === 'SHIPPED');
    expect(count('OR23')).toBe(known.length);
    expect(count('OR24')).toBe(known.length);
  }, 60_000);
});
