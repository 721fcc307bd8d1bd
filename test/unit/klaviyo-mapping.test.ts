import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketplaceById } from '../../functions/shared/config';
import type { BusinessEvent, Order } from '../../functions/shared/events';
import { klaviyoWorkFor, profileFor, toBcp47 } from '../../functions/shared/klaviyo/mapping';
import {
  BULK_LIMITS,
  type PlannedRequest,
  bulkRequests,
  klaviyoRequestsFor,
  klaviyoSettings,
  klaviyoWorkForConfig,
} from '../../functions/shared/klaviyo/requests';
import { klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';

const config = klaviyoConfig();
const settings = klaviyoSettings(config);
const debenhams = marketplaceById(config, 'debenhams');
const life = orderLifeEvents('debenhams', 'M1-A');
const byType = (type: string) => life.find((e) => e.detailType === type) as BusinessEvent;

/** Every key path in a JSON value, e.g. `data.attributes.profile.data.attributes.email`. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keyPaths(v, prefix));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
}

describe('Klaviyo mapping: events', () => {
  it('Order Confirmed → Placed Order with order total, business time, event id as unique_id, and the order lines', () => {
    const work = klaviyoWorkFor(byType('Order Confirmed'), debenhams, settings);
    const [placed, ...lines] = work.events;
    expect(placed).toMatchObject({
      metric: 'Placed Order',
      unique_id: 'debenhams:M1-A:confirmed',
      value: 53.99,
      value_currency: 'GBP',
      time: byType('Order Confirmed').detail.occurredAt,
      properties: {
        OrderId: 'M1-A',
        Marketplace: 'Debenhams',
        Channel: 'Website',
        Currency: 'GBP',
        HasIncident: false,
        ItemNames: ['Product 1', 'Product 2'],
        Categories: ['Dresses'],
      },
    });
    expect(placed?.properties.Items).toEqual([
      expect.objectContaining({ SKU: 'SKU-1', ProductName: 'Product 1', Quantity: 1, ItemPrice: 25, RowTotal: 25, Categories: ['Dresses'] }),
      expect.objectContaining({ SKU: 'SKU-2' }),
    ]);
    expect(lines.map((l) => [l.metric, l.unique_id, l.value])).toEqual([
      ['Ordered Product', 'debenhams:M1-A:line:M1-A-1', 25],
      ['Ordered Product', 'debenhams:M1-A:line:M1-A-2', 25],
    ]);
    expect(work.profile?.external_id).toBe('mirakl:debenhams:C-1001');
  });

  it('Order Shipped → Fulfilled Order with tracking; no profile upsert', () => {
    const work = klaviyoWorkFor(byType('Order Shipped'), debenhams, settings);
    expect(work.profile).toBeUndefined();
    expect(work.events).toEqual([
      expect.objectContaining({
        metric: 'Fulfilled Order',
        unique_id: 'debenhams:M1-A:shipped',
        properties: expect.objectContaining({
          Tracking: { Carrier: 'Royal Mail', TrackingNumber: 'RM123456789GB', TrackingUrl: 'https://track.example/RM123456789GB' },
        }),
      }),
    ]);
  });

  it('Order Refunded → Refunded Order valued at the refunded amount including shipping, with line and reason', () => {
    const [refunded] = klaviyoWorkFor(byType('Order Refunded'), debenhams, settings).events;
    expect(refunded).toMatchObject({
      metric: 'Refunded Order',
      unique_id: 'debenhams:M1-A:refund:M1-A-r1',
      value: 26.5,
      time: '2026-11-22T09:40:41.000Z',
      properties: { Reason: '19', RefundedQuantity: 1, ItemAmount: 25, ShippingAmount: 1.5, ItemNames: ['Product 1'] },
    });
  });

  it('Order Cancelled → Cancelled Order with amount, the cancelled line and reason', () => {
    const [cancelled] = klaviyoWorkFor(byType('Order Cancelled'), debenhams, settings).events;
    expect(cancelled).toMatchObject({
      metric: 'Cancelled Order',
      unique_id: 'debenhams:M1-A:cancel:M1-A-c1',
      value: 25,
      properties: { Scope: 'line', Reason: '34', ItemNames: ['Product 2'] },
    });
  });

  it('incidents become their own metric so review flows can exclude disputed orders; Order Received sends nothing', () => {
    const [incident] = klaviyoWorkFor(byType('Order Incident Opened'), debenhams, settings).events;
    expect(incident).toMatchObject({ metric: 'Order Incident Opened', properties: { OrderId: 'M1-A', LineId: 'M1-A-1', SKU: 'SKU-1' } });
    const received = { ...byType('Order Shipped'), detailType: 'Order Received' } as BusinessEvent;
    expect(klaviyoWorkFor(received, debenhams, settings).events).toEqual([]);
  });

  it('metric names come from the configuration', () => {
    const custom = klaviyoConfig({ metrics: { placedOrder: 'Marketplace Order', orderedProduct: 'Marketplace Item' } });
    const work = klaviyoWorkForConfig(byType('Order Confirmed'), custom);
    expect(new Set(work.events.map((e) => e.metric))).toEqual(new Set(['Marketplace Order', 'Marketplace Item']));
    expect(klaviyoWorkForConfig(byType('Order Refunded'), custom).events[0]?.metric).toBe('Refunded Order');
  });
});

describe('Klaviyo mapping: profiles and consent', () => {
  it('keys the profile by external_id, keeps the relay e-mail in a named property under `transactional`', () => {
    const profile = profileFor((byType('Order Confirmed').detail as { order: Order }).order, debenhams, settings);
    expect(profile).toEqual({
      external_id: 'mirakl:debenhams:C-1001',
      first_name: 'Jane',
      last_name: 'Doe',
      locale: 'en-GB',
      location: { country: 'GBR' },
      properties: {
        marketplace: 'debenhams',
        marketplace_channel: 'Website',
        marketing_allowed: true,
        mirakl_relay_email: 'q7k2m9x1ab.c0d3@notification.mirakl.net',
      },
    });
  });

  it('Decathlon (relay `never`, marketing forbidden): no relay e-mail anywhere, marketing_allowed false', () => {
    const [confirmed] = orderLifeEvents('decathlon', 'M2-A');
    const requests = klaviyoRequestsFor(confirmed as BusinessEvent, config);
    expect(JSON.stringify(requests)).not.toContain('notification.mirakl.net');
    expect(requests[0]?.body).toMatchObject({ data: { attributes: { properties: { marketing_allowed: false } } } });
  });

  it('property: no request ever carries an e-mail or phone identifier, a subscription, or the relay outside its property', () => {
    const buyerData = fc.record({
      customerId: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
      relay: fc.emailAddress(),
      firstName: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
      locale: fc.option(fc.constantFrom('en_GB', 'fr_FR', 'de'), { nil: null }),
      marketplace: fc.constantFrom('debenhams' as const, 'decathlon' as const),
      backfill: fc.boolean(),
      relayProperty: fc.stringMatching(/^[a-z][a-z_]{0,20}$/),
    });
    fc.assert(
      fc.property(buyerData, (b) => {
        const cfg = klaviyoConfig({ relayEmailProperty: b.relayProperty });
        const events = orderLifeEvents(b.marketplace, 'PB-A', { customerId: b.customerId }).map((e) => {
          const order = (e.detail as { order: Order }).order;
          // The normaliser only passes the relay under `transactional`; feed it regardless to prove the guard.
          const buyer = { ...order.buyer, firstName: b.firstName, locale: b.locale, relayEmail: b.relay };
          return { ...e, detail: { ...e.detail, order: { ...order, buyer } } } as BusinessEvent;
        });
        const requests = events.flatMap((e) => klaviyoRequestsFor(e, cfg, { backfill: b.backfill }));
        for (const request of requests) {
          const paths = keyPaths(request.body);
          expect(paths.filter((p) => /(^|\.)(email|phone_number|subscriptions)$/.test(p))).toEqual([]);
          expect(request.url).not.toMatch(/subscri/);
        }
        const text = JSON.stringify(requests);
        const relayUses = text.split(JSON.stringify(b.relay)).length - 1;
        if (b.marketplace === 'decathlon') expect(relayUses).toBe(0);
        else expect(relayUses).toBe(1);
        if (relayUses > 0) expect(text).toContain(`"${b.relayProperty}":${JSON.stringify(b.relay)}`);
      }),
      { numRuns: 60 },
    );
  });

  it('Mirakl locales become BCP 47', () => {
    expect(toBcp47('en_GB')).toBe('en-GB');
    expect(toBcp47(null)).toBeUndefined();
  });
});

describe('Klaviyo requests', () => {
  it('single form: profile-import then one create-event per Klaviyo event, revision pinned, key masked', () => {
    const requests = klaviyoRequestsFor(byType('Order Confirmed'), config);
    expect(requests.map((r) => r.url)).toEqual([
      'https://a.klaviyo.com/api/profile-import',
      'https://a.klaviyo.com/api/events',
      'https://a.klaviyo.com/api/events',
      'https://a.klaviyo.com/api/events',
    ]);
    for (const r of requests) {
      expect(r).toMatchObject({ connector: 'klaviyo', method: 'POST' });
      expect(r.headers).toMatchObject({ Authorization: 'Klaviyo-API-Key ***', revision: '2026-07-15' });
    }
    expect(requests[1]?.body).toMatchObject({
      data: { type: 'event', attributes: { backfill: false, profile: { data: { attributes: { external_id: 'mirakl:debenhams:C-1001' } } } } },
    });
  });

  it('--backfill: bulk form with Klaviyo backfill set on every event', () => {
    const requests = klaviyoRequestsFor(byType('Order Confirmed'), config, { backfill: true });
    expect(requests.map((r) => new URL(r.url).pathname)).toEqual(['/api/profile-bulk-import-jobs', '/api/event-bulk-create-jobs']);
    const events = eventsOf(requests[1] as PlannedRequest);
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.backfill === true)).toBe(true);
  });

  it('bulk: ≤ 1,000 events per request, unique_ids de-duplicated, profiles merged', () => {
    const works = Array.from({ length: 450 }, (_, i) => orderLifeEvents('debenhams', `V${i}-A`, { customerId: `V-${i}` }))
      .flat()
      .map((e) => klaviyoWorkForConfig(e, config));
    const requests = bulkRequests([...works, ...works.slice(0, 50)], 'https://a.klaviyo.com');
    const eventJobs = requests.filter((r) => r.url.endsWith('/api/event-bulk-create-jobs'));
    const profileJobs = requests.filter((r) => r.url.endsWith('/api/profile-bulk-import-jobs'));
    const counts = eventJobs.map((r) => eventsOf(r).length);
    const total = works.reduce((n, w) => n + w.events.length, 0);
    expect(counts.every((n) => n <= BULK_LIMITS.eventsPerRequest)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    expect(eventJobs).toHaveLength(Math.ceil(total / BULK_LIMITS.eventsPerRequest));
    expect(profileJobs).toHaveLength(1);
    expect((profileJobs[0]?.body as { data: { attributes: { profiles: { data: unknown[] } } } }).data.attributes.profiles.data).toHaveLength(450);
    for (const job of eventJobs) expect(Buffer.byteLength(JSON.stringify(job.body))).toBeLessThanOrEqual(BULK_LIMITS.bytesPerRequest);
  });

  it('bulk: a request is split before 5 MB', () => {
    const big = 'x'.repeat(90_000);
    const works = Array.from({ length: 80 }, (_, i) => {
      const work = klaviyoWorkForConfig(byType('Order Shipped'), config);
      return { ...work, events: work.events.map((e) => ({ ...e, unique_id: `${e.unique_id}:${i}`, properties: { ...e.properties, Note: big } })) };
    });
    const jobs = bulkRequests(works, 'https://a.klaviyo.com').filter((r) => r.url.endsWith('event-bulk-create-jobs'));
    expect(jobs.length).toBeGreaterThan(1);
    for (const job of jobs) expect(Buffer.byteLength(JSON.stringify(job.body))).toBeLessThanOrEqual(BULK_LIMITS.bytesPerRequest);
  });
});

function eventsOf(request: PlannedRequest): { unique_id: string; backfill: boolean }[] {
  const body = request.body as {
    data: { attributes: { 'events-bulk-create': { data: { attributes: { events: { data: { attributes: { unique_id: string; backfill: boolean } }[] } } }[] } } };
  };
  return body.data.attributes['events-bulk-create'].data.flatMap((entry) => entry.attributes.events.data.map((e) => e.attributes));
}
