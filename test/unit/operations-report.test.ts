/** The weekly health report: the figures it gathers and the plain text the business teams read. */
import { describe, expect, it } from 'vitest';
import type { ExceptionEntry } from '../../functions/shared/operations/inbox';
import type { Reconciliation } from '../../functions/shared/operations/reconcile';
import { buildWeeklyReport, renderWeeklyReport, reportSubject, weekEnding } from '../../functions/shared/operations/report';

const period = weekEnding(new Date('2026-11-23T07:00:00Z'));

function entry(overrides: Partial<ExceptionEntry>): ExceptionEntry {
  return {
    id: 'x',
    type: 'delivery.failed',
    owner: 'operations',
    severity: 'high',
    marketplace: 'debenhams',
    ref: 'DB-1-A',
    reason: 'HTTP 503',
    component: 'klaviyo',
    payloadRef: null,
    firstSeen: '2026-11-18T10:00:00.000Z',
    lastSeen: '2026-11-18T10:00:00.000Z',
    occurrences: 1,
    status: 'open',
    retry: 'republish',
    ...overrides,
  };
}

const reconciliations: Reconciliation[] = [
  {
    marketplace: 'debenhams',
    since: period.from.toISOString(),
    until: period.to.toISOString(),
    ranAt: period.to.toISOString(),
    ordersInMirakl: 40,
    connectors: [
      { connector: 'klaviyo', orders: 38, delivered: 36, missing: 2, revenueLeakage: { GBP: 80.5 }, missingOrders: [] },
      { connector: 'mirakl-acceptance', orders: 5, delivered: 5, missing: 0, revenueLeakage: {}, missingOrders: [] },
    ],
  },
  {
    marketplace: 'decathlon',
    since: period.from.toISOString(),
    until: period.to.toISOString(),
    ranAt: period.to.toISOString(),
    ordersInMirakl: 12,
    connectors: [{ connector: 'klaviyo', orders: 12, delivered: 12, missing: 0, revenueLeakage: {}, missingOrders: [] }],
  },
];

describe('weekly health report', () => {
  it('covers the seven whole UTC days before the day it runs', () => {
    expect(period).toEqual({ from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-11-23T00:00:00Z') });
  });

  it('sums orders, deliveries and leakage, and counts exceptions opened and resolved in the week by type and owner', () => {
    const report = buildWeeklyReport({
      period,
      reconciliations,
      exceptions: [
        entry({ id: 'a' }),
        entry({ id: 'b', type: 'sku.unmapped', owner: 'ecommerce', firstSeen: '2026-11-10T08:00:00.000Z' }),
        entry({ id: 'c', status: 'resolved', resolution: { how: 'retried', at: '2026-11-19T09:00:00.000Z', note: 're-published' } }),
        entry({ id: 'd', status: 'resolved', firstSeen: '2026-11-01T00:00:00.000Z', resolution: { how: 'resolved', at: '2026-11-02T00:00:00.000Z', note: 'old' } }),
      ],
      redrives: { klaviyo: [{ startedAt: '2026-11-19T09:00:00.000Z', moved: 7, status: 'COMPLETED' }, { startedAt: '2026-11-01T09:00:00.000Z', moved: 3, status: 'COMPLETED' }] },
      rateLimited: { klaviyo: 14, 'mirakl-acceptance': 0 },
    });
    expect(report.ordersByMarketplace).toEqual({ debenhams: 40, decathlon: 12 });
    expect(report.connectors).toEqual([
      { connector: 'klaviyo', orders: 50, delivered: 48, missing: 2, revenueLeakage: { GBP: 80.5 } },
      { connector: 'mirakl-acceptance', orders: 5, delivered: 5, missing: 0, revenueLeakage: {} },
    ]);
    expect(report.exceptions.opened).toEqual([{ type: 'delivery.failed', owner: 'operations', what: 'A destination rejected a record', count: 2 }]);
    expect(report.exceptions.resolved.map((t) => [t.type, t.count])).toEqual([['delivery.failed', 1]]);
    expect(report.exceptions.openByOwner).toEqual({ operations: 1, ecommerce: 1 });
    expect(report.exceptions.oldestOpen).toMatchObject({ id: 'b', owner: 'ecommerce', ref: 'DB-1-A', ageDays: 12 });
    expect(report.redrives).toEqual([{ connector: 'klaviyo', count: 1, moved: 7 }]);

    const text = renderWeeklyReport(report);
    expect(text).toContain('MarketBridge weekly health report, 2026-11-16 to 2026-11-22 (UTC)');
    expect(text).toContain('klaviyo: 48 of 50 orders complete, 2 missing, worth 80.50 GBP');
    expect(text).toContain('Still open: operations 1, ecommerce 1');
    expect(text).toMatch(/Oldest open: sku\.unmapped on debenhams record DB-1-A, open 12 day\(s\), owner ecommerce/);
    expect(text).toContain('klaviyo: 1 redrive(s), 7 record(s) sent again');
    expect(text).toContain('klaviyo: 14');
    expect(reportSubject(report).length).toBeLessThanOrEqual(100);
  });

  it('says when the rate-limit figures are unavailable rather than inventing them', () => {
    const text = renderWeeklyReport(buildWeeklyReport({ period, reconciliations: [], exceptions: [], redrives: {} }));
    expect(text).toContain('Not available (CloudWatch metrics could not be read).');
    expect(text).toContain('Still open: none');
  });
});
