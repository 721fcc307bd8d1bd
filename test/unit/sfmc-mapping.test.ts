/**
 * SFMC's pure mapping and request builders: the channel-distinguished Contact Key, the relay address only under
 * policy `transactional`, journey gating for any marketplace policy, incident and journey setting
 * (property-based), the refund/cancellation ledger, and the documented batch limits.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketplaceById } from '../../functions/shared/config';
import type { BusinessEvent } from '../../functions/shared/events';
import { sfmcWorkFor } from '../../functions/shared/sfmc/mapping';
import { SFMC_LIMITS, asyncRequests, sfmcRequestsFor, sfmcSettings, syncRequests } from '../../functions/shared/sfmc/requests';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { CONFIRMED_JOURNEY, SHIPPED_JOURNEY, sfmcConfig } from '../support/sfmcFixtures';

const config = sfmcConfig();
const settings = sfmcSettings(config);

describe('SFMC mapping: keys, relay and gating', () => {
  const [confirmed, shipped] = orderLifeEvents('debenhams', 'M1-A') as [BusinessEvent, BusinessEvent];

  it('journey entry only for confirmed/shipped, live, no incident, and marketing allowed or a transactional journey', () => {
    fc.assert(
      fc.property(
        fc.record({
          fact: fc.constantFrom(confirmed, shipped),
          marketing: fc.constantFrom('allowed' as const, 'forbidden' as const),
          transactional: fc.boolean(),
          incident: fc.boolean(),
          backfill: fc.boolean(),
        }),
        (v) => {
          const event = structuredClone(v.fact) as BusinessEvent<'Order Confirmed'>;
          event.detail.order.hasIncident = v.incident;
          const marketplace = { ...marketplaceById(config, 'debenhams'), marketing: v.marketing };
          const journeys = {
            confirmed: { eventDefinitionKey: CONFIRMED_JOURNEY, transactional: v.transactional },
            shipped: { eventDefinitionKey: SHIPPED_JOURNEY, transactional: v.transactional },
          };
          const work = sfmcWorkFor(event as BusinessEvent, marketplace, { ...settings, journeys }, { backfill: v.backfill });
          const allowed = !v.incident && !v.backfill && (v.marketing === 'allowed' || v.transactional);
          expect(work.journey !== undefined).toBe(allowed);
          if (work.journey) {
            expect(work.journey.contactKey).toBe('mirakl:debenhams:C-1001');
            expect(work.journey.eventDefinitionKey).toBe(v.fact.detailType === 'Order Confirmed' ? CONFIRMED_JOURNEY : SHIPPED_JOURNEY);
          }
        },
      ),
    );
  });

  it('refunds, cancellations and incidents never enter a journey', () => {
    for (const event of orderLifeEvents('debenhams', 'M2-A').slice(2)) {
      expect(sfmcWorkFor(event, marketplaceById(config, 'debenhams'), settings).journey).toBeUndefined();
    }
  });

  it('keys every row by the channel-distinguished Contact Key; the relay address only under `transactional`', () => {
    const debenhams = sfmcWorkFor(confirmed, marketplaceById(config, 'debenhams'), settings);
    expect(debenhams.rows.customers[0]?.keys).toEqual({ ContactKey: 'mirakl:debenhams:C-1001' });
    expect(debenhams.rows.customers[0]?.values.RelayEmailAddress).toMatch(/@notification\.mirakl\.net$/);
    expect(debenhams.rows.customers[0]?.values).not.toHaveProperty('EmailAddress');
    const [decathlonConfirmed] = orderLifeEvents('decathlon', 'M3-A') as [BusinessEvent];
    const decathlon = sfmcWorkFor(decathlonConfirmed, marketplaceById(config, 'decathlon'), settings);
    expect(decathlon.rows.customers[0]?.keys).toEqual({ ContactKey: 'mirakl:decathlon:C-1001' });
    expect(decathlon.rows.customers[0]?.values).not.toHaveProperty('RelayEmailAddress');
    expect(decathlon.rows.customers[0]?.values.MarketingAllowed).toBe(false);
  });
});

describe('SFMC mapping: the order lines ledger', () => {
  const events = orderLifeEvents('debenhams', 'L1-A');
  const works = events.map((e) => sfmcWorkFor(e, marketplaceById(config, 'debenhams'), settings));
  const lines = works.flatMap((w) => w.rows.orderLines);

  it('one sale row per line and one negative row per refund and cancellation, keyed by its Mirakl id', () => {
    const keys = [...new Set(lines.map((r) => r.keys.LineKey))].sort();
    expect(keys).toEqual([
      'debenhams:L1-A:L1-A-1',
      'debenhams:L1-A:L1-A-1:refund:L1-A-r1',
      'debenhams:L1-A:L1-A-2',
      'debenhams:L1-A:L1-A-2:cancel:L1-A-c1',
    ]);
    const refund = lines.find((r) => r.keys.LineKey?.endsWith(':refund:L1-A-r1'));
    expect(refund?.values).toMatchObject({ Kind: 'refund', Amount: -25, ShippingAmount: -1.5, Quantity: -1, OrderKey: 'debenhams:L1-A' });
  });

  it('net revenue is the order total plus its adjustment rows, whatever is delivered twice (rows upsert by key)', () => {
    const byKey = new Map([...lines, ...lines].map((r) => [r.keys.LineKey, r]));
    const adjustments = [...byKey.values()].filter((r) => r.values.Kind !== 'sale');
    const total = Number(works[0]?.rows.orders[0]?.values.OrderTotal);
    const net = adjustments.reduce((n, r) => n + Number(r.values.Amount) + Number(r.values.ShippingAmount), total);
    expect(Math.round(net * 100) / 100).toBe(2.49);
  });
});

describe('SFMC request builders', () => {
  const many = Array.from({ length: 60 }, (_, i) => orderLifeEvents('debenhams', `B${i}-A`, { customerId: `C-${i}` })[0] as BusinessEvent);
  const works = many.map((e) => sfmcWorkFor(e, marketplaceById(config, 'debenhams'), settings));

  it('sync rowsets carry at most 50 rows; data extensions are written customers, orders, lines, then journeys', () => {
    const requests = syncRequests(works, '', settings);
    const rowsets = requests.filter((r) => r.url.includes('/rowset'));
    expect(rowsets.every((r) => (r.body as unknown[]).length <= SFMC_LIMITS.syncRows)).toBe(true);
    const order = requests.map((r) => /key:(\w+)|interaction/.exec(r.url)?.[0]);
    expect(order.indexOf('key:MarketBridge_Orders')).toBeGreaterThan(order.lastIndexOf('key:MarketBridge_Customers'));
    expect(order.indexOf('interaction')).toBeGreaterThan(order.lastIndexOf('key:MarketBridge_OrderLines'));
  });

  it('async upserts put every row of a data extension in one request and batch journeys by ≤ 100', () => {
    const requests = asyncRequests(works, '', settings);
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'PUT /data/v1/async/dataextensions/key:MarketBridge_Customers/rows',
      'PUT /data/v1/async/dataextensions/key:MarketBridge_Orders/rows',
      'PUT /data/v1/async/dataextensions/key:MarketBridge_OrderLines/rows',
      'POST /interaction/v1/async/events',
    ]);
    expect((requests[0]?.body as { items: unknown[] }).items).toHaveLength(60);
  });

  it('plan prints rowsets and the journey entry with the token masked; history loads print async upserts and no journey', () => {
    const [confirmed] = orderLifeEvents('debenhams', 'PL-A') as [BusinessEvent];
    const live = sfmcRequestsFor(confirmed, config);
    expect(live.map((r) => new URL(r.url).pathname)).toEqual([
      '/hub/v1/dataevents/key:MarketBridge_Customers/rowset',
      '/hub/v1/dataevents/key:MarketBridge_Orders/rowset',
      '/hub/v1/dataevents/key:MarketBridge_OrderLines/rowset',
      '/interaction/v1/events',
    ]);
    expect(live.every((r) => r.connector === 'sfmc' && r.headers.Authorization === 'Bearer ***')).toBe(true);
    expect(new URL(live[0]?.url ?? '').host).toBe('mc-sandbox.rest.marketingcloudapis.com');
    const history = sfmcRequestsFor(confirmed, config, { backfill: true });
    expect(history.map((r) => r.method)).toEqual(['PUT', 'PUT', 'PUT']);
  });
});
