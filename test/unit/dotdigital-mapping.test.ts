/**
 * Dotdigital's pure mapping: list and consent rules for any buyer and marketplace policy (property-based), the order
 * record's conventional fields, and the record merge that makes refunds and cancellations count exactly once
 * whatever the order and repetition of delivery.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketplaceById } from '../../functions/shared/config';
import { dotdigitalRetryAfter } from '../../functions/shared/dotdigital/connector';
import { type OrderRecordJson, dotdigitalWorkFor, mergeOrderRecord } from '../../functions/shared/dotdigital/mapping';
import { dotdigitalOptions, dotdigitalRequestsFor, dotdigitalSettings } from '../../functions/shared/dotdigital/requests';
import type { BusinessEvent } from '../../functions/shared/events';
import { hasNestedArray } from '../../local/sandboxes/dotdigital/store';
import { CONFIRMED_PROGRAMME, PRIVATE_LIST, dotdigitalConfig } from '../support/dotdigitalFixtures';
import { orderLifeEvents } from '../support/klaviyoFixtures';

const config = dotdigitalConfig();
const options = dotdigitalOptions(dotdigitalSettings(config));
const life = (mp: 'debenhams' | 'decathlon', id: string) => orderLifeEvents(mp, id);

/** A copy of an event whose buyer, policies and incident flag vary. */
function variant(event: BusinessEvent, v: { relay: string | null; policy: 'never' | 'transactional'; marketing: 'allowed' | 'forbidden'; incident: boolean }) {
  const copy = structuredClone(event) as BusinessEvent<'Order Confirmed'>;
  copy.detail.order.buyer.relayEmail = v.relay;
  copy.detail.order.hasIncident = v.incident;
  const marketplace = { ...marketplaceById(config, copy.detail.marketplace), marketing: v.marketing };
  marketplace.relayEmail = { ...marketplace.relayEmail, policy: v.policy };
  return { event: copy as BusinessEvent, marketplace };
}

describe('Dotdigital mapping: lists and consent', () => {
  const confirmed = life('debenhams', 'P1-A')[0] as BusinessEvent;

  it('for any buyer and policy: only the private list, no consent fields, e-mail only for a matching relay under `transactional`', () => {
    fc.assert(
      fc.property(
        fc.record({
          relay: fc.option(fc.oneof(fc.emailAddress(), fc.constantFrom('abc@notification.mirakl.net', 'x.y@NOTIFICATION.mirakl.net'))),
          policy: fc.constantFrom('never' as const, 'transactional' as const),
          marketing: fc.constantFrom('allowed' as const, 'forbidden' as const),
          incident: fc.boolean(),
        }),
        (v) => {
          const { event, marketplace } = variant(confirmed, v);
          const work = dotdigitalWorkFor(event, marketplace, options);
          expect(work.contact.lists).toEqual([PRIVATE_LIST]);
          for (const forbidden of ['channelProperties', 'consentRecords', 'preferences']) expect(work.contact).not.toHaveProperty(forbidden);
          expect(work.identity).toEqual({ identifier: 'mirakl_id', value: 'mirakl:debenhams:C-1001' });
          const relayOk = v.policy === 'transactional' && v.relay !== null && /@notification\.mirakl\.net$/i.test(v.relay);
          expect(work.contact.identifiers.email).toBe(relayOk ? v.relay : undefined);
          expect(work.contact.dataFields.MARKETING_ALLOWED).toBe(v.marketing === 'allowed');
          // The only marketing trigger: allowed marketplace, live, no open incident.
          expect(work.programme).toBe(v.marketing === 'allowed' && !v.incident ? CONFIRMED_PROGRAMME : undefined);
        },
      ),
    );
  });

  it('history loads and facts other than confirmed/shipped never enrol', () => {
    expect(dotdigitalWorkFor(confirmed, marketplaceById(config, 'debenhams'), options, { backfill: true }).programme).toBeUndefined();
    const refund = life('debenhams', 'P2-A').find((e) => e.detailType === 'Order Refunded') as BusinessEvent;
    expect(dotdigitalWorkFor(refund, marketplaceById(config, 'debenhams'), options).programme).toBeUndefined();
  });

  it('a forbidden marketplace (Decathlon) keeps buyers for transactional use and analytics: contact and order, no e-mail, no enrolment', () => {
    const [event] = life('decathlon', 'P3-A');
    const work = dotdigitalWorkFor(event as BusinessEvent, marketplaceById(config, 'decathlon'), options);
    expect(work.contact.identifiers).toEqual({ mirakl_id: 'mirakl:decathlon:C-1001' });
    expect(work.programme).toBeUndefined();
    expect(work.record.json.marketplace).toBe('decathlon');
  });
});

describe('Dotdigital mapping: the orders record', () => {
  const events = life('debenhams', 'R1-A');
  const works = events.map((e) => dotdigitalWorkFor(e, marketplaceById(config, 'debenhams'), options));

  it("uses Dotdigital's conventional order fields, keeps one key per order and never nests arrays", () => {
    const json = works[0]?.record.json as OrderRecordJson;
    expect(works.every((w) => w.record.key === 'debenhams:R1-A')).toBe(true);
    expect(json).toMatchObject({ id: 'R1-A', currency: 'GBP', order_total: 53.99, order_subtotal: 50, delivery_total: 3.99, order_status: 'SHIPPING' });
    expect(json.products[0]).toEqual({ name: 'Product 1', sku: 'SKU-1', qty: 1, price: 25, brand: '', categories: [{ Name: 'Dresses' }] });
    for (const w of works) expect(hasNestedArray(w.record.json)).toBe(false);
  });

  it('keeps the schema stable: every fact writes the same keys with the same types', () => {
    const shape = (json: OrderRecordJson) => Object.entries(json).map(([k, v]) => `${k}:${Array.isArray(v) ? 'array' : typeof v}`);
    const first = shape(works[0]?.record.json as OrderRecordJson);
    for (const w of works) expect(shape(w.record.json)).toEqual(first);
  });

  it('folds to net totals with each refund and cancellation once, whatever the order and repetition of delivery', () => {
    const records = works.map((w) => w.record.json);
    const expected = records.reduce<OrderRecordJson | undefined>((acc, r) => mergeOrderRecord(acc, r), undefined) as OrderRecordJson;
    expect(expected.refund_total).toBe(26.5);
    expect(expected.cancelled_total).toBe(25);
    expect(expected.net_total).toBe(2.49);
    expect(expected.order_status).toBe('SHIPPED');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...records), { minLength: records.length, maxLength: 3 * records.length }), (deliveries) => {
        const all = [...deliveries, ...records];
        const folded = all.reduce<OrderRecordJson | undefined>((acc, r) => mergeOrderRecord(acc, r), undefined);
        expect(folded).toEqual(expected);
      }),
    );
  });

  it('a whole-order cancellation marks the record CANCELED and nets the cancelled amount', () => {
    const [confirmed] = events;
    const cancelled = structuredClone(confirmed) as unknown as BusinessEvent<'Order Cancelled'>;
    Object.assign(cancelled, { id: 'debenhams:R1-A:cancelled', detailType: 'Order Cancelled' });
    Object.assign(cancelled.detail, { eventId: 'debenhams:R1-A:cancelled', scope: 'order', cancellation: null, amount: 53.99 });
    const work = dotdigitalWorkFor(cancelled as BusinessEvent, marketplaceById(config, 'debenhams'), options);
    const merged = mergeOrderRecord(works[0]?.record.json, work.record.json);
    expect(merged.order_status).toBe('CANCELED');
    expect(merged.net_total).toBe(0);
  });
});

describe('Dotdigital rate-limit hint', () => {
  const at = Date.parse('2026-11-22T10:00:00Z');
  it('reads X-RateLimit-Reset as seconds, or as an epoch timestamp above 1e9, else Retry-After', () => {
    expect(dotdigitalRetryAfter(new Headers({ 'X-RateLimit-Reset': '17' }), at)).toBe(17_000);
    expect(dotdigitalRetryAfter(new Headers({ 'x-ratelimit-reset': String(at / 1000 + 42) }), at)).toBe(42_000);
    expect(dotdigitalRetryAfter(new Headers({ 'retry-after': '3' }), at)).toBe(3_000);
    expect(dotdigitalRetryAfter(new Headers(), at)).toBeUndefined();
  });
});

describe('dotdigitalRequestsFor (plan)', () => {
  const events = life('debenhams', 'PL-A');

  it('prints the contact PATCH then the record PUT, credentials masked, in the PlannedRequest shape', () => {
    const requests = dotdigitalRequestsFor(events[0] as BusinessEvent, config);
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'PATCH /contacts/v3/mirakl_id/mirakl%3Adebenhams%3AC-1001',
      'PUT /insightData/v3/contacts/mirakl_id/mirakl%3Adebenhams%3AC-1001/Orders/debenhams%3APL-A',
    ]);
    expect(requests.every((r) => r.connector === 'dotdigital' && r.headers.Authorization === 'Basic ***')).toBe(true);
  });

  it('with backfill prints the async contact import then the async insight import', () => {
    const requests = dotdigitalRequestsFor(events[0] as BusinessEvent, config, { backfill: true });
    expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(['PUT /contacts/v3/import', 'PUT /insightData/v3/import']);
  });
});
