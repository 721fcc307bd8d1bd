/**
 * Reconciliation as a pure comparison over in-memory ports: which facts each connector should hold, a
 * deliberately lost delivery found with its revenue, incident history taken from the snapshot, the window's
 * upper bound, exceptions carrying the missing events, and the OR11 call slot it waits for.
 */
import { describe, expect, it } from 'vitest';
import { type ConnectorName, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { CollectingExceptions, MemoryState, openGate, RecordedOrders } from '../../functions/shared/ingest/memory';
import {
  type DeliveryRecords,
  detailTypeOfOrderFact,
  orderConnectors,
  type ReconcileDeps,
  reconcileMarketplace,
  reconcileWindow,
} from '../../functions/shared/operations/reconcile';
import { rawOrder } from '../support/miraklOrders';

const config = parseConfig({
  ...sandboxConfigInput,
  connectors: {
    klaviyo: { enabled: true },
    dotdigital: { enabled: true, listId: 4001, marketplaces: ['decathlon'] },
    'mirakl-acceptance': { enabled: true },
    'mirakl-stock': { enabled: true },
  },
});
const debenhams = config.marketplaces[0]!;

/** Delivery records as a set of `connector event-id`. */
class Delivered implements DeliveryRecords {
  readonly records = new Set<string>();
  add(connector: ConnectorName, ...ids: string[]) {
    for (const id of ids) this.records.add(`${connector} ${id}`);
  }
  async delivered(connector: ConnectorName, eventIds: readonly string[]) {
    return new Set(eventIds.filter((id) => this.records.has(`${connector} ${id}`)));
  }
}

function deps(orders: unknown[], delivered: Delivered, extra: Partial<ReconcileDeps> = {}) {
  const exceptions = new CollectingExceptions();
  const state = new MemoryState();
  return {
    exceptions,
    state,
    deps: {
      config,
      orders: async () => new RecordedOrders(orders),
      gate: openGate,
      snapshots: state,
      deliveries: delivered,
      exceptions,
      now: () => new Date('2026-11-22T06:00:00Z'),
      ...extra,
    } satisfies ReconcileDeps,
  };
}
const window = { since: new Date('2026-11-19T00:00:00Z'), until: new Date('2026-11-22T00:00:00Z') };

describe('reconciliation', () => {
  it('knows the detail type of each recorded fact id, and only ids of the order', () => {
    expect(detailTypeOfOrderFact('debenhams:X-1:confirmed', 'debenhams', 'X-1')).toBe('Order Confirmed');
    expect(detailTypeOfOrderFact('debenhams:X-1:refund:77', 'debenhams', 'X-1')).toBe('Order Refunded');
    expect(detailTypeOfOrderFact('debenhams:X-1:cancel:5', 'debenhams', 'X-1')).toBe('Order Cancelled');
    expect(detailTypeOfOrderFact('debenhams:X-1:incident-opened:X-1-1:2', 'debenhams', 'X-1')).toBe('Order Incident Opened');
    expect(detailTypeOfOrderFact('debenhams:X-12:confirmed', 'debenhams', 'X-1')).toBeUndefined();
    expect(detailTypeOfOrderFact('debenhams:X-1:line:X-1-1', 'debenhams', 'X-1')).toBeUndefined();
  });

  it('checks only the connectors that take Mirakl order facts for the marketplace', () => {
    expect(orderConnectors(config, 'debenhams').map((c) => c.connector)).toEqual(['klaviyo', 'mirakl-acceptance']);
    expect(orderConnectors(config, 'decathlon').map((c) => c.connector)).toEqual(['klaviyo', 'dotdigital', 'mirakl-acceptance']);
  });

  it('finds a deliberately lost delivery, lists it with its value and records an exception that can re-publish it', async () => {
    const orders = [rawOrder('DB-1-A'), rawOrder('DB-2-A', { total_price: 120.5 }), rawOrder('DB-3-A', { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null })];
    const delivered = new Delivered();
    delivered.add('klaviyo', 'debenhams:DB-1-A:confirmed'); // DB-2-A's confirmation was lost on the way.
    delivered.add('mirakl-acceptance', 'debenhams:DB-3-A:awaiting-acceptance');
    const { deps: d, exceptions } = deps(orders, delivered);
    const result = await reconcileMarketplace(d, debenhams, window);

    expect(result.ordersInMirakl).toBe(3);
    const klaviyo = result.connectors.find((c) => c.connector === 'klaviyo')!;
    expect(klaviyo).toMatchObject({ orders: 2, delivered: 1, missing: 1, revenueLeakage: { GBP: 120.5 } });
    expect(klaviyo.missingOrders).toEqual([{ orderId: 'DB-2-A', total: 120.5, currency: 'GBP', missing: ['debenhams:DB-2-A:confirmed'] }]);
    expect(result.connectors.find((c) => c.connector === 'mirakl-acceptance')).toMatchObject({ orders: 1, delivered: 1, missing: 0 });

    expect(exceptions.recorded).toHaveLength(1);
    const [exception] = exceptions.recorded;
    expect(exception).toMatchObject({ type: 'reconciliation.missing', marketplace: 'debenhams', ref: 'DB-2-A', component: 'klaviyo', payloadRef: 'debenhams:DB-2-A:confirmed' });
    expect(exception!.events?.map((e) => e.id)).toEqual(['debenhams:DB-2-A:confirmed']);
    expect(exception!.reason).not.toMatch(/@|Jane|Doe/);
  });

  it('expects incident facts from the snapshot history, not from the current state', async () => {
    const order = rawOrder('DB-4-A');
    const delivered = new Delivered();
    delivered.add('klaviyo', 'debenhams:DB-4-A:confirmed');
    const { deps: d, state } = deps([order], delivered);
    const opened = 'debenhams:DB-4-A:incident-opened:DB-4-A-1:2';
    await state.save('debenhams', { orderId: 'DB-4-A', state: 'SHIPPING', lastUpdated: '2026-11-20T10:00:00Z', lineStates: {}, incidentsOpened: {}, emitted: ['debenhams:DB-4-A:confirmed', opened], unknownStatesSeen: [] }, undefined);
    const result = await reconcileMarketplace(d, debenhams, window);
    const klaviyo = result.connectors.find((c) => c.connector === 'klaviyo')!;
    expect(klaviyo.missingOrders).toEqual([expect.objectContaining({ orderId: 'DB-4-A', missing: [opened] })]);
  });

  it('leaves orders updated after the window for the next run, and records nothing on a read-only run', async () => {
    const late = rawOrder('DB-5-A', { last_updated_date: '2026-11-22T05:59:00Z' });
    const { deps: d } = deps([late], new Delivered(), { exceptions: undefined });
    const result = await reconcileMarketplace(d, debenhams, reconcileWindow(new Date('2026-11-22T06:00:00Z'), window.since));
    expect(result.ordersInMirakl).toBe(0);
    expect(result.until).toBe('2026-11-22T05:45:00.000Z');
    const readOnly = await reconcileMarketplace(deps([rawOrder('DB-6-A')], new Delivered(), { exceptions: undefined }).deps, debenhams, window);
    expect(readOnly.connectors.find((c) => c.connector === 'klaviyo')?.missing).toBe(1);
  });

  it('waits for an OR11 call slot instead of calling Mirakl faster than the contract', async () => {
    const waits: number[] = [];
    let attempts = 0;
    const gate = { acquire: async () => (++attempts < 3 ? { granted: false, retryInMs: 20_000 } : { granted: true }) };
    const { deps: d } = deps([], new Delivered(), { gate, sleep: async (ms) => void waits.push(ms) });
    await reconcileMarketplace(d, debenhams, window);
    // Asks as often as the poller does rather than sleeping the refusal's full-interval upper bound.
    expect(waits).toEqual([500, 500]);
  });

  it('gives up with an error naming the marketplace after two OR11 intervals of its persona', async () => {
    const waits: number[] = [];
    const gate = { acquire: async () => ({ granted: false, retryInMs: 60_000 }) };
    const { deps: d } = deps([rawOrder('DB-7-A')], new Delivered(), { gate, sleep: async (ms) => void waits.push(ms) });
    await expect(reconcileMarketplace(d, debenhams, window)).rejects.toThrow(/no OR11 call slot for debenhams in 2 minutes/);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(120_000);
    // An external partner's OR11 is every 15 minutes: two intervals would outlast the Lambda, so 10 minutes.
    waits.length = 0;
    const partner = { ...debenhams, persona: 'external-partner' as const };
    await expect(reconcileMarketplace(d, partner, window)).rejects.toThrow(/in 10 minutes/);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(600_000);
  });
});
