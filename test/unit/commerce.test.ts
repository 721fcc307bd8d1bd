/**
 * The commerce loop's pure rules: acceptance decision, deadline risk, stock lines and files, STO03 reports,
 * the stock comparison, dispatch requests, CSV, the SKU/carrier maps over the in-memory table, and carrier seeding
 * from SH21 when SH21 fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideAcceptance, deadlinesAtRisk, sellable } from '../../functions/shared/commerce/acceptance';
import { formatCsv, parseCsv } from '../../functions/shared/commerce/csv';
import { watchDeadlines } from '../../functions/shared/commerce/deadlineWatch';
import { dispatchRequests } from '../../functions/shared/commerce/dispatch';
import { CarrierMap, MemoryMappingTable, SkuMap, normaliseCarrier, parseSkuMapCsv } from '../../functions/shared/commerce/mappings';
import { isShippedAlready } from '../../functions/shared/commerce/miraklErrors';
import { ShipmentRejected, describeMiraklRequest } from '../../functions/shared/commerce/miraklRequests';
import { diffStock, parseStockErrorReport, stockFile, stockLines } from '../../functions/shared/commerce/stock';
import { AcceptanceWatchList } from '../../functions/shared/commerce/watchList';
import { carrierResolver } from '../../functions/shared/commerce/carrierSeeding';
import { InMemoryCallSlotStore, UNCERTAIN_RETRY, createMarketplaceGuard } from '../../functions/shared/mirakl/callFrequency';
import type { MiraklCarrier, MiraklClient } from '../../functions/shared/mirakl/client';
import { classify } from '../../functions/shared/connector/failures';
import { failures } from '../support/callSlotPolicy';
import { type MarketplaceConfig, sandboxConfig } from '../../functions/shared/config';
import { type DetailOf, type Order, businessEvent, eventIds } from '../../functions/shared/events';
import type { ExceptionInput } from '../../functions/shared/exceptions';

const marketplace = sandboxConfig.marketplaces[0] as MarketplaceConfig; // debenhams, buffer 2
const rules = (whenOutOfStock: 'leave' | 'refuse', stockBuffer = 2) => ({
  stockBuffer,
  acceptance: { ...marketplace.acceptance, whenOutOfStock },
});

function order(lines: { sku: string | null; quantity: number }[]): Order {
  return {
    lines: lines.map((line, i) => ({ lineId: `O-1-${i + 1}`, offerSku: line.sku, quantity: line.quantity })),
  } as unknown as Order;
}

describe('acceptance decision', () => {
  const products = new Map([
    ['SKU-A', 'P-A'],
    ['SKU-A2', 'P-A'],
    ['SKU-B', 'P-B'],
  ]);
  const ats = new Map([
    ['P-A', 5],
    ['P-B', 2],
  ]);

  it('accepts all lines when every line maps and stock after the buffer covers it', () => {
    expect(decideAcceptance(order([{ sku: 'SKU-A', quantity: 3 }]), rules('leave'), products, ats)).toEqual({
      action: 'accept',
      lines: [{ id: 'O-1-1', accepted: true }],
    });
  });

  it('names each unmapped SKU once, including a line without SKU', () => {
    const decision = decideAcceptance(
      order([{ sku: 'NOPE', quantity: 1 }, { sku: 'NOPE', quantity: 1 }, { sku: null, quantity: 1 }]),
      rules('refuse'),
      products,
      ats,
    );
    expect(decision).toEqual({
      action: 'leave',
      problems: [
        { type: 'sku.unmapped', offerSku: 'NOPE' },
        { type: 'sku.unmapped', offerSku: '' },
      ],
    });
  });

  it('sums lines drawing on the same product before comparing with stock', () => {
    const decision = decideAcceptance(order([{ sku: 'SKU-A', quantity: 2 }, { sku: 'SKU-A2', quantity: 2 }]), rules('leave'), products, ats);
    expect(decision).toEqual({
      action: 'leave',
      problems: [{ type: 'stock.insufficient', offerSku: 'SKU-A+SKU-A2', productId: 'P-A', wanted: 4, available: 3 }],
    });
  });

  it('refuses all lines on a stock shortage only when the marketplace says so', () => {
    const decision = decideAcceptance(order([{ sku: 'SKU-B', quantity: 1 }, { sku: 'SKU-A', quantity: 1 }]), rules('refuse'), products, ats);
    expect(decision.action).toBe('refuse');
    expect(decision.action === 'refuse' && decision.lines).toEqual([
      { id: 'O-1-1', accepted: false },
      { id: 'O-1-2', accepted: false },
    ]);
  });

  it('never accepts more than available-to-sell less the buffer (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 60 }), (available, buffer, wanted) => {
        const decision = decideAcceptance(order([{ sku: 'SKU-A', quantity: wanted }]), rules('leave', buffer), products, new Map([['P-A', available]]));
        expect(decision.action === 'accept').toBe(wanted <= Math.max(0, available - buffer));
      }),
    );
  });

  it('sellable never goes below zero and ignores fractions', () => {
    expect(sellable(1, 2)).toBe(0);
    expect(sellable(7.9, 2)).toBe(5);
  });
});

describe('deadline risk', () => {
  const now = new Date('2026-11-22T10:00:00Z');
  it('flags orders with less than the margin left, the most urgent first', () => {
    const waiting = new Map([
      ['far', '2026-11-24T10:00:00Z'],
      ['close', '2026-11-22T15:00:00Z'],
      ['past', '2026-11-22T09:00:00Z'],
    ]);
    expect(deadlinesAtRisk(waiting, now, 12)).toEqual([
      { orderId: 'past', deadline: '2026-11-22T09:00:00Z', hoursLeft: -1 },
      { orderId: 'close', deadline: '2026-11-22T15:00:00Z', hoursLeft: 5 },
    ]);
  });

  it('the watch raises one exception per order at risk and forgets orders the poller saw leave WAITING_ACCEPTANCE', async () => {
    const table = new MemoryMappingTable();
    const list = new AcceptanceWatchList(table);
    await list.add('debenhams', 'at-risk', '2026-11-22T12:00:00Z');
    await list.add('debenhams', 'accepted-by-hand', '2026-11-22T11:00:00Z');
    await list.add('debenhams', 'fine', '2026-11-25T10:00:00Z');
    const recorded: ExceptionInput[] = [];
    const snapshot = (state: string) => ({ snapshot: { state } as never, version: 1 });
    const results = await watchDeadlines({
      config: sandboxConfig,
      mappings: table,
      snapshots: {
        load: async (mp) =>
          new Map(mp === 'debenhams' ? [['accepted-by-hand', snapshot('WAITING_DEBIT')], ['at-risk', snapshot('WAITING_ACCEPTANCE')]] : []),
      },
      exceptions: { record: async (e) => void recorded.push(e) },
      now: () => now,
    });
    expect(results).toEqual([
      { marketplace: 'debenhams', waiting: 2, atRisk: 1 },
      { marketplace: 'decathlon', waiting: 0, atRisk: 0 },
    ]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ type: 'acceptance.deadline-at-risk', ref: 'at-risk', marketplace: 'debenhams' });
    expect(recorded[0]?.reason).toContain('2 h left');
    expect([...(await list.list('debenhams')).keys()]).toEqual(['at-risk', 'fine']);
  });
});

describe('stock', () => {
  const skus = [
    { offerSku: 'B-SKU', productId: 'P-1', pushedQuantity: 3 },
    { offerSku: 'A-SKU', productId: 'P-1' },
    { offerSku: 'C-SKU', productId: 'P-2', pushedQuantity: 0 },
    { offerSku: 'D-SKU', productId: 'P-UNKNOWN' },
  ];
  const ats = new Map([
    ['P-1', 5],
    ['P-2', 1],
  ]);

  it('lines are the mapped offers whose quantity changed, buffer applied, never below zero', () => {
    expect(stockLines(skus, ats, 2)).toEqual([{ offerSku: 'A-SKU', quantity: 3 }]);
    expect(stockLines(skus, ats, 0)).toEqual([
      { offerSku: 'A-SKU', quantity: 5 },
      { offerSku: 'B-SKU', quantity: 5 },
      { offerSku: 'C-SKU', quantity: 1 },
    ]);
  });

  it('the file is STO01\'s documented semicolon CSV, quoted', () => {
    expect(stockFile([{ offerSku: 'SKU;"1"', quantity: 4 }])).toBe(
      '"offer-sku";"quantity";"warehouse-code";"update-delete"\n"SKU;""1""";"4";"";"update"\n',
    );
  });

  it('reads STO03 reports: line number, reason, SKU', () => {
    const report = '"line-number";"error-message";"offer-sku";"quantity"\n"3";"The offer does not exist";"X-1";"4"\n';
    expect(parseStockErrorReport(report)).toEqual([{ line: 3, offerSku: 'X-1', error: 'The offer does not exist' }]);
  });

  it('the comparison lists differing quantities, mapped SKUs Mirakl lacks and offers we cannot map (unknown on both sides is no difference)', () => {
    const mirakl = new Map([
      ['A-SKU', 3],
      ['B-SKU', 1],
      ['Z-SKU', 7],
    ]);
    expect(diffStock(skus, ats, 2, mirakl)).toEqual([
      { offerSku: 'B-SKU', productId: 'P-1', expected: 3, mirakl: 1 },
      { offerSku: 'C-SKU', productId: 'P-2', expected: 0, mirakl: undefined },
      { offerSku: 'Z-SKU', mirakl: 7 },
    ]);
  });
});

describe('dispatch', () => {
  const shipment = (): DetailOf<'Shipment Dispatched'> =>
    businessEvent('Shipment Dispatched', {
      schemaVersion: 1,
      eventId: eventIds.shipmentDispatched('debenhams', 'DEB-1', 'S1'),
      marketplace: 'debenhams',
      occurredAt: '2026-11-22T10:00:00Z',
      orderId: 'DEB-1',
      shipmentId: 'S1',
      carrier: 'Royal Mail 24',
      trackingNumber: 'TT1GB',
      trackingUrl: null,
      lines: [{ lineId: 'DEB-1-1', quantity: 2 }],
    }).detail;

  it('maps to OR23 (code, standard code, tracking number) then OR24', () => {
    const plan = dispatchRequests(shipment(), { code: 'ROYAL_MAIL', standardCode: 'royal-mail' }, false);
    expect(plan.ok && plan.requests.map(describeMiraklRequest)).toEqual([
      {
        method: 'PUT',
        path: '/api/orders/DEB-1/tracking',
        body: { carrier_code: 'ROYAL_MAIL', carrier_standard_code: 'royal-mail', tracking_number: 'TT1GB' },
      },
      { method: 'PUT', path: '/api/orders/DEB-1/ship' },
    ]);
  });

  it('maps to one shipped ST01 shipment on multi-shipment marketplaces', () => {
    const plan = dispatchRequests(shipment(), { code: 'ROYAL_MAIL' }, true);
    expect(plan.ok && plan.requests.map(describeMiraklRequest)).toEqual([
      {
        method: 'POST',
        path: '/api/shipments',
        body: {
          shipments: [
            {
              order_id: 'DEB-1',
              shipment_lines: [{ order_line_id: 'DEB-1-1', quantity: 2 }],
              tracking: { carrier_code: 'ROYAL_MAIL', tracking_number: 'TT1GB' },
              shipped: true,
            },
          ],
        },
      },
    ]);
  });

  it('an unknown carrier produces no request and names the carrier to map', () => {
    const plan = dispatchRequests(shipment(), undefined, false);
    expect(plan).toMatchObject({ ok: false, carrier: 'Royal Mail 24' });
    expect(!plan.ok && plan.reason).toContain('"Royal Mail 24"');
  });
});

describe('ST01 refusals', () => {
  it('an order already shipped (our own lost shipment, retried) is done; any other refusal is not', () => {
    const refused = (...reasons: string[]) => new ShipmentRejected(reasons);
    expect(isShippedAlready(refused("The order status must be 'SHIPPING' but it is 'SHIPPED'."))).toBe(true);
    expect(isShippedAlready(refused("The order status must be 'SHIPPING' but it is 'RECEIVED'."))).toBe(true);
    expect(isShippedAlready(refused("The order status must be 'SHIPPING' but it is 'CANCELED'."))).toBe(false);
    expect(isShippedAlready(refused('Shipment quantity is invalid.'))).toBe(false);
    expect(isShippedAlready(refused("The order status must be 'SHIPPING' but it is 'SHIPPED'.", 'Shipment quantity is invalid.'))).toBe(false);
    expect(isShippedAlready(new Error("The order status must be 'SHIPPING' but it is 'SHIPPED'."))).toBe(false);
  });
});

describe('CSV', () => {
  it('round-trips quotes, delimiters and line breaks, skipping blank lines and a BOM', () => {
    const rows = [['a;b', 'say "hi"', ''], ['x\ny', '2', '3']];
    expect(parseCsv(`\uFEFF${formatCsv(rows, ';')}\n`, ';')).toEqual(rows);
  });

  it('refuses a file ending inside quotes', () => {
    expect(() => parseCsv('"open', ',')).toThrow(/quoted field/);
  });
});

describe('SKU and carrier maps', () => {
  it('reads the SKU map CSV and names the bad line', () => {
    expect(parseSkuMapCsv('offer_sku,product_id\nA,P-1\r\n B , P-2 \n')).toEqual([
      { offerSku: 'A', productId: 'P-1' },
      { offerSku: 'B', productId: 'P-2' },
    ]);
    expect(() => parseSkuMapCsv('sku,product\nA,P')).toThrow(/offer_sku,product_id/);
    expect(() => parseSkuMapCsv('offer_sku,product_id\nA,\n')).toThrow(/line 2/);
  });

  it('caches lookups per instance: each row is read once', async () => {
    const table = new MemoryMappingTable();
    await new SkuMap(table, 'debenhams').set('A', 'P-1');
    let reads = 0;
    const counting = Object.assign(Object.create(table) as MemoryMappingTable, {
      batchGet: (pk: string, sks: readonly string[]) => {
        reads += 1;
        return table.batchGet(pk, sks);
      },
    });
    const map = new SkuMap(counting, 'debenhams');
    expect(await map.productsFor(['A', 'B'])).toEqual(new Map([['A', 'P-1']]));
    expect(await map.productsFor(['A', 'B'])).toEqual(new Map([['A', 'P-1']]));
    expect(reads).toBe(1);
  });

  it('carrier names match whatever their case, spacing and punctuation', () => {
    expect(normaliseCarrier('Royal Mail')).toBe(normaliseCarrier('ROYAL_MAIL'));
    expect(normaliseCarrier('royal-mail')).toBe('royalmail');
  });

  it('SH21 seeding knows each carrier by code, label and standard code, and never overwrites a person\'s mapping', async () => {
    const table = new MemoryMappingTable();
    const carriers = new CarrierMap(table, 'debenhams');
    await carriers.set('DPD UK', 'EVRI');
    await carriers.seed([
      { code: 'DPD_UK', label: 'DPD UK', standard_code: 'dpd' },
      { code: 'ROYAL_MAIL', label: 'Royal Mail', standard_code: 'royal-mail' },
    ]);
    const fresh = new CarrierMap(table, 'debenhams');
    expect(await fresh.resolve('dpd uk')).toEqual({ code: 'EVRI' });
    expect(await fresh.resolve('DPD')).toEqual({ code: 'DPD_UK', standardCode: 'dpd' });
    expect(await fresh.resolve('Royal Mail')).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(await fresh.resolve('Pigeon')).toBeUndefined();
  });
});

describe('marketplace call guard', () => {
  it('keeps each marketplace on its own persona\'s limits and refuses unknown marketplaces', async () => {
    let now = 0;
    const guard = createMarketplaceGuard(
      [
        { id: 'fast', persona: 'default' },
        { id: 'partner', persona: 'external-partner' },
      ],
      new InMemoryCallSlotStore(),
      { now: () => now },
    );
    expect((await guard.acquire('fast', 'OR11')).granted).toBe(true);
    expect((await guard.acquire('partner', 'OR11')).granted).toBe(true);
    now += 61_000;
    expect((await guard.acquire('fast', 'OR11')).granted).toBe(true);
    expect((await guard.acquire('partner', 'OR11')).granted).toBe(false);
    expect(() => guard.acquire('nowhere', 'STO01')).toThrow(/unknown marketplace "nowhere"/);
  });
});

describe('carrier seeding when SH21 fails', () => {
  const DAY = 24 * 3_600_000;
  const LIST: MiraklCarrier[] = [{ code: 'ROYAL_MAIL', label: 'Royal Mail', standard_code: 'royal-mail' }];

  /**
   * SH21 answers with each scripted outcome in turn, a timer tick later (so parallel records overlap it); the carrier
   * map, slots and resolver (one connector instance) live as long as the scenario.
   */
  function seeding(...outcomes: (Error | 'list')[]) {
    let now = Date.parse('2026-11-22T10:00:00Z');
    const table = new MemoryMappingTable();
    const guard = createMarketplaceGuard([{ id: 'debenhams', persona: 'default' }], new InMemoryCallSlotStore(), { now: () => now });
    let calls = 0;
    const listCarriers = async () => {
      const outcome = outcomes[calls++];
      if (outcome === undefined) throw new Error('SH21 called more often than scripted');
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (outcome instanceof Error) throw outcome;
      return LIST;
    };
    const resolve = carrierResolver({ guard, mirakl: async () => ({ listCarriers }) as unknown as MiraklClient, log: { info: () => {}, warn: () => {} } });
    // A fresh CarrierMap per delivery, as the connector makes one per record.
    const deliver = (carrier = 'Royal Mail') => resolve(carrier, new CarrierMap(table, 'debenhams'));
    const failure = (carrier?: string) => deliver(carrier).then(() => expect.fail('should fail'), (error: unknown) => classify(error));
    return { deliver, failure, calls: () => calls, advance: (ms: number) => void (now += ms) };
  }

  it('an SH21 that never reached Mirakl gives its slot back: the redelivery reads the list and maps the carrier', async () => {
    const s = seeding(failures.notSent(), 'list');
    const failed = await s.failure();
    // Retryable, yet a carrier.unknown if its receives run out first.
    expect(failed).toMatchObject({ retryable: true, exceptionType: 'carrier.unknown' });
    expect(failed.reason).toContain('SH21 failed, network: ECONNREFUSED');
    expect(failed.reason).toContain('once SH21 may be called again (now)');
    expect(await s.deliver()).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(s.calls()).toBe(2);
  });

  it('records of one batch that miss the map together share one SH21 read and are all mapped', async () => {
    const s = seeding('list');
    const names = ['Royal Mail', 'royal mail', 'ROYAL_MAIL', 'royal-mail'];
    const mapped = await Promise.all(names.map((name) => s.deliver(name)));
    expect(mapped).toEqual(names.map(() => ({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' })));
    expect(s.calls()).toBe(1);
  });

  it('records sharing a failed read all fail retryably, and the read is not kept: the next record reads the list', async () => {
    const s = seeding(failures.notSent(), 'list');
    const failed = await Promise.all(['Royal Mail', 'Royal Mail', 'Evri'].map((name) => s.failure(name)));
    expect(failed).toEqual(failed.map(() => expect.objectContaining({ retryable: true, exceptionType: 'carrier.unknown' })));
    expect(s.calls()).toBe(1);
    expect(await s.deliver()).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(s.calls()).toBe(2);
  });

  it('an SH21 whose answer was lost is retried after the short back-off, not a day later', async () => {
    const s = seeding(failures.timeout(), 'list');
    expect(await s.failure()).toMatchObject({ retryable: true, reason: expect.stringContaining('(in at most 5 min)') });
    // Another shipment inside the back-off (or a local redelivery, 30 s later): a clear exception, kept for a retry,
    // and no SH21 call. The refusal cannot tell the back-off from a spent day, so it gives both.
    s.advance(UNCERTAIN_RETRY.afterMs - 1);
    const early = await s.failure('Evri');
    expect(early).toMatchObject({ retryable: false, exceptionType: 'carrier.unknown' });
    expect(early.reason).toContain('carrier "Evri" is not in the carrier map');
    expect(early.reason).toContain('(in at most 24 h, sooner if its last call was cut off)');
    s.advance(1);
    expect(await s.deliver()).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(s.calls()).toBe(2);
  });

  it('an SH21 Mirakl answered with a 5xx counts: carrier.unknown saying why and when, and the retry a day later maps it', async () => {
    const s = seeding(failures.answered(503), 'list');
    const failed = await s.failure();
    expect(failed).toMatchObject({ retryable: false, exceptionType: 'carrier.unknown' });
    expect(failed.reason).toBe(
      'carrier "Royal Mail" is not in the carrier map and Mirakl\'s carrier list could not be read (SH21 failed, HTTP 503 ' +
        '(retryable, 1 attempt)): map it (marketbridge mappings carrier set --marketplace debenhams "Royal Mail" CODE), ' +
        'or retry the record once SH21 may be called again (in at most 24 h); the order is not marked shipped',
    );
    s.advance(DAY - 1);
    expect((await s.failure()).reason).toContain("Mirakl's carrier list (SH21, once a day) was already read or tried");
    s.advance(1);
    expect(await s.deliver()).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(s.calls()).toBe(2);
  });

  it('a carrier missing from a list that was read is unknown without another SH21 call', async () => {
    const s = seeding('list');
    expect(await s.deliver('Pigeon Post')).toBeUndefined();
    expect(await s.deliver('Royal Mail')).toEqual({ code: 'ROYAL_MAIL', standardCode: 'royal-mail' });
    expect(s.calls()).toBe(1);
  });
});
