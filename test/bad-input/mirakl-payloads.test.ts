/**
 * Fuzzed Mirakl OR11 orders through the real normaliser (`orderFacts`) and a whole ingest run (`runIngest`):
 * nulls and missing fields anywhere, wrong types, unknown enum values, odd Unicode, 1,000-line orders, arbitrary
 * JSON. Nothing throws; every record ends as facts, a remembered snapshot (kept, e.g. an unknown state) or a named
 * exception; the good orders around a bad one are never lost; a poison order re-read every poll neither blocks the
 * cursor nor multiplies its exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { type BusinessEvent, parseBusinessEvent } from '../../functions/shared/events';
import { PUT_EVENTS_MAX_ENTRY_BYTES } from '../../functions/shared/aws/eventPublisher';
import { runIngest } from '../../functions/shared/ingest/ingestRun';
import { RecordedOrders } from '../../functions/shared/ingest/memory';
import { orderFacts, type OrderFactsResult } from '../../functions/shared/ingest/orderFacts';
import { type RawOrder, rawOrder } from '../support/miraklOrders';
import { memoryIngest } from '../../bench/pipeline';

const debenhams = marketplaceById(sandboxConfig, 'debenhams');
const ctx = { marketplace: debenhams, component: 'poller' };
const EXCEPTION_TYPES = ['order.malformed', 'identity.missing'];

/** Strings Mirakl operators really send sometimes, and some they should not. */
const oddText = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\u202Eevil', 'Zoë 👩‍👩‍👧 Ørsted', 'e\u0301', '\uD800', 'ﷺ', 'a'.repeat(10_000), '<script>', '${x}'),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
/** A value where any field is expected: JSON only (payloads come from JSON.parse). */
const oddValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined), // dropped by the JSON round trip: a missing field
  fc.constantFrom('BRAND_NEW_STATE', 'shipping', 'SHIPPED ', 'NaN', '2026-13-45T99:99:99Z', '1970-01-01T00:00:00Z'),
  oddText,
  fc.constantFrom(0, -1, 1e21, -0.0001, 2 ** 53 + 1),
  fc.boolean(),
  fc.constant({}),
  fc.constant([]),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Paths into an OR11 order worth breaking: the order, its customer and address, its lines, refunds and cancelations. */
const ORDER_FIELDS = Object.keys(rawOrder('X-A'));
const CUSTOMER_FIELDS = ['customer_id', 'firstname', 'lastname', 'locale', 'shipping_address', 'billing_address'];
const ADDRESS_FIELDS = ['firstname', 'lastname', 'street_1', 'zip_code', 'city', 'country', 'country_iso_code', 'phone'];
const LINE_FIELDS = [...Object.keys(rawOrder('X-A').order_lines[0]!), 'refunds', 'cancelations'];
const REFUND_FIELDS = ['id', 'amount', 'state', 'reason_code', 'created_date', 'quantity'];

const mutationPath = fc.oneof(
  fc.constantFrom(...ORDER_FIELDS).map((f) => [f]),
  fc.constantFrom(...CUSTOMER_FIELDS).map((f) => ['customer', f]),
  fc.constantFrom(...ADDRESS_FIELDS).map((f) => ['customer', 'shipping_address', f]),
  fc.tuple(fc.nat(2), fc.constantFrom(...LINE_FIELDS)).map(([i, f]) => ['order_lines', i, f]),
  fc.tuple(fc.nat(1), fc.constantFrom(...REFUND_FIELDS)).map(([i, f]) => ['order_lines', 0, 'refunds', 0, f].map((p, k) => (k === 1 ? i : p))),
);
const mutation = fc.record({ path: mutationPath, value: oddValue });

/** A realistic order, with refunds to break, mutated at 1-6 places, as it would come out of JSON.parse. */
function mutated(orderId: string, mutations: { path: (string | number)[]; value: unknown }[]): unknown {
  const order: RawOrder = rawOrder(orderId, {}, 3);
  order.order_lines[0]!.refunds = [{ id: `${orderId}-r1`, amount: 5, quantity: 1, reason_code: 'DAMAGED', state: 'REFUNDED', created_date: '2026-11-20T11:00:00Z' }];
  for (const { path, value } of mutations) {
    let target: any = order;
    for (const key of path.slice(0, -1)) {
      if (target?.[key] === null || typeof target?.[key] !== 'object') break;
      target = target[key];
    }
    if (target && typeof target === 'object') target[path[path.length - 1]!] = structuredClone(value);
  }
  return JSON.parse(JSON.stringify(order));
}

/** The outcome every record must have: facts, a snapshot kept for the next read, or a named exception. */
function expectAccountedFor(result: OrderFactsResult): void {
  for (const event of result.events) {
    expect(() => parseBusinessEvent({ source: event.source, 'detail-type': event.detailType, detail: event.detail })).not.toThrow();
    expect(event.id.startsWith(`debenhams:${result.orderId}:`)).toBe(true);
  }
  if (result.exception) {
    expect(EXCEPTION_TYPES).toContain(result.exception.type);
    expect(result.exception.reason.length).toBeGreaterThan(10);
    expect(result.exception.marketplace).toBe('debenhams');
  }
  expect(result.events.length > 0 || result.snapshot !== undefined || result.exception !== undefined).toBe(true);
}

/** A dry-run ingest over `orders` (the bench's in-memory wiring), collecting what it publishes. */
function ingestHarness(orders: unknown[]) {
  const published: BusinessEvent[] = [];
  const deps = memoryIngest(async () => new RecordedOrders(orders), async (events) => void published.push(...events));
  return { deps, state: deps.snapshots, exceptions: deps.exceptions, publisher: { published } };
}

describe('bad Mirakl payloads through the normaliser', () => {
  it('a mutated order never throws and always ends as facts, a kept snapshot or a named exception', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (mutations) => {
        const raw = mutated('M1-A', mutations);
        let result: OrderFactsResult | undefined;
        expect(() => (result = orderFacts(raw, undefined, ctx))).not.toThrow();
        expectAccountedFor(result!);
        // Read again with what was remembered: nothing new, still nothing thrown.
        const again = orderFacts(raw, result!.snapshot, ctx);
        expect(again.events).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('arbitrary JSON where an order should be is an order.malformed exception, never a throw', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (raw) => {
        const result = orderFacts(raw, undefined, ctx);
        expect(result.events).toEqual([]);
        expect(result.snapshot === undefined || typeof raw === 'object').toBe(true);
        expectAccountedFor(result);
      }),
      { numRuns: 200 },
    );
  });

  it('unknown order and line states are kept without a purchase fact, and said once', () => {
    const order = rawOrder('U1-A', { order_state: 'AWAITING_PICKUP_2027' });
    order.order_lines[1]!.order_line_state = 'LINE_STATE_FROM_THE_FUTURE';
    const first = orderFacts(order, undefined, ctx);
    expect(first.events.filter((e) => e.detailType === 'Order Confirmed')).toEqual([]);
    expect(first.snapshot).toBeDefined();
    expect(first.notices.join(' ')).toMatch(/AWAITING_PICKUP_2027/);
    expect(orderFacts({ ...order, last_updated_date: '2026-11-20T11:00:00Z' }, first.snapshot, ctx).notices).toEqual([]);
  });

  it('a 1,000-line order with odd Unicode becomes one confirmed fact carrying every line, small enough for PutEvents', () => {
    const order = rawOrder('BIG-A', {}, 1000);
    order.order_lines.forEach((line, i) => {
      line.product_title = ['Zoë 👩‍👩‍👧 Ørsted', 'e\u0301', '\u202Eevil', 'ﷺ'][i % 4]!;
      if (i % 7 === 0) line.category_label = null;
    });
    const result = orderFacts(JSON.parse(JSON.stringify(order)), undefined, ctx);
    const confirmed = result.events.find((e) => e.detailType === 'Order Confirmed');
    expect((confirmed?.detail as { order: { lines: unknown[] } }).order.lines).toHaveLength(1000);
    for (const event of result.events) expect(Buffer.byteLength(JSON.stringify(event.detail))).toBeLessThan(PUT_EVENTS_MAX_ENTRY_BYTES);
  });
});

describe('history events aimed at connectors', () => {
  it('name only connectors that exist: a misspelt one is refused, not silently matched by none', () => {
    const [event] = orderFacts(mutated('H1-A', []), undefined, ctx).events;
    const aimed = (connectors: string[]) => () =>
      parseBusinessEvent({ source: event!.source, 'detail-type': event!.detailType, detail: { ...event!.detail, backfill: true, connectors } });
    expect(aimed(['klaviyo', 'sfmc'])).not.toThrow();
    expect(aimed(['klavio'])).toThrow(/connectors/);
  });
});

describe('bad Mirakl payloads through an ingest run', () => {
  it('bad orders anywhere in the pages never cost the good ones, and the cursor moves on', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(mutation, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
        fc.nat(150),
        async (badOrders, junk, goodCount) => {
          const good = Array.from({ length: goodCount + 1 }, (_, i) => rawOrder(`G${i}-A`, { customer: { ...rawOrder('x').customer as object, customer_id: `C-${i}` } }));
          const bad = badOrders.map((m, i) => mutated(`M${i}-A`, m));
          // Bad records spread through the pages, between and around the good ones.
          const page: unknown[] = [...good];
          [...bad, ...junk].forEach((record, i) => page.splice((i * 37) % (page.length + 1), 0, record));
          const h = ingestHarness(page);
          const report = await runIngest(h.deps, debenhams, 'poll');
          expect(report.cursor?.advanced).toBe(true);
          const published = new Set(h.publisher.published.map((e) => e.id));
          for (const order of good) expect(published.has(`debenhams:${order.order_id}:confirmed`)).toBe(true);
          expect(report.ordersRead).toBe(page.length);
          // Every bad record is accounted for: facts, a kept snapshot or an exception naming it.
          // A mutation may have replaced the order_id itself: the record is then remembered under the id it carries.
          const refs = bad.map((record) => {
            const id = (record as { order_id?: unknown }).order_id;
            return typeof id === 'string' && id !== '' ? id : '(no order_id)';
          });
          const snapshots = await h.state.load('debenhams', refs);
          for (const [i, ref] of refs.entries()) {
            const accounted =
              [...published].some((e) => e.startsWith(`debenhams:${ref}:`)) ||
              snapshots.has(ref) ||
              h.exceptions.recorded.some((e) => e.ref === ref);
            expect(accounted, `bad order ${i}`).toBe(true);
          }
          for (const e of h.exceptions.recorded) expect(EXCEPTION_TYPES).toContain(e.type);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a poison order re-read on every poll is reported again, never blocks the cursor or the orders after it', async () => {
    const poison = rawOrder('P1-A', { customer: null });
    const h = ingestHarness([poison, rawOrder('OK1-A')]);
    for (let poll = 0; poll < 3; poll++) {
      const report = await runIngest(h.deps, debenhams, 'poll');
      expect(report.cursor?.advanced).toBe(true);
    }
    expect(h.publisher.published.map((e) => e.id)).toEqual(['debenhams:OK1-A:confirmed']);
    // One exception per read, for the same record: the inbox folds them into one entry with a count.
    expect(new Set(h.exceptions.recorded.map((e) => `${e.type} ${e.ref}`))).toEqual(new Set(['identity.missing P1-A']));
  });
});
