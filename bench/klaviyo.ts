/**
 * Klaviyo efficiency and throughput, measured by running the real connector against the Klaviyo sandbox:
 *
 * - API calls per 1,000 orders, live (single calls per event) and as a history load (bulk jobs, `backfill`).
 * - The history load's request rate on each bulk endpoint as a fraction of the limit the sandbox enforces, and
 *   how many 429s that cost (the target: ≥ 90 % of the limit, none).
 *
 * Time is virtual (see ./virtualTime).
 */
import type { BusinessEvent } from '../functions/shared/events';
import { createKlaviyoConnector, KLAVIYO_PACE_UTILISATION, PUBLISHED_LIMITS } from '../functions/shared/klaviyo/connector';
import { RatePacer, type RateLimit, shareOf } from '../functions/shared/connector/pacer';
import { createHttpClient } from '../functions/shared/http';
import { BULK_BATCHING } from '../lib/constructs/connector';
import { type RouteName, type KlaviyoSandbox, startKlaviyoSandbox } from '../local/sandboxes/klaviyo';
import { KLAVIYO_TEST_KEY, klaviyoConfig, orderLifeEvents } from '../test/support/klaviyoFixtures';
import { type RouteRate, rateAgainst } from './rates';
import { VirtualTime } from './virtualTime';

export interface KlaviyoBenchOptions {
  /** Orders in the live run. */
  liveOrders?: number;
  /** Orders in the history load; large enough to span several rate-limit minutes. */
  historyOrders?: number;
  /** Records per SQS batch during a history load; by default what the stack deploys. */
  batchSize?: number;
  /** One in this many orders also has an incident, a refund and a cancellation. */
  afterSalesEvery?: number;
}

export interface KlaviyoBenchResult {
  live: { orders: number; events: number; calls: number; callsPer1000Orders: number; byRoute: Record<string, number> };
  history: {
    orders: number;
    events: number;
    calls: number;
    callsPer1000Orders: number;
    byRoute: Record<string, number>;
    virtualMinutes: number;
    eventsPerMinute: number;
    rates: Partial<Record<RouteName, RouteRate>>;
    throttled: number;
  };
}

/** Business events for `count` orders: every order confirmed and shipped, some with after-sales facts. */
function orderEvents(count: number, afterSalesEvery: number, backfill: boolean): BusinessEvent[] {
  const template = JSON.stringify(orderLifeEvents('debenhams', 'TPL-A', { backfill }));
  const events: BusinessEvent[] = [];
  for (let i = 0; i < count; i++) {
    const life = JSON.parse(template.replaceAll('TPL-A', `BN${i}-A`).replaceAll('C-1001', `BC-${i}`)) as BusinessEvent[];
    events.push(...(i % afterSalesEvery === 0 ? life : life.filter((e) => e.detailType === 'Order Confirmed' || e.detailType === 'Order Shipped')));
  }
  return events;
}

function countByRoute(sandbox: KlaviyoSandbox): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of sandbox.requests) counts[r.route ?? r.path] = (counts[r.route ?? r.path] ?? 0) + 1;
  return counts;
}

export async function benchKlaviyo(options: KlaviyoBenchOptions = {}): Promise<KlaviyoBenchResult> {
  const liveOrders = options.liveOrders ?? 1_000;
  const historyOrders = options.historyOrders ?? 40_000;
  const batchSize = options.batchSize ?? BULK_BATCHING.batchSize;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const clock = new VirtualTime();
  const sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY], now: clock.now });
  try {
    // One connector instance using the whole account quota (maxConcurrency splits it in production).
    const config = klaviyoConfig({ baseUrl: sandbox.url, bulk: 'auto' });
    const connector = createKlaviyoConnector({
      config,
      http: createHttpClient({ sleep: clock.sleep, now: clock.now }),
      apiKey: async () => KLAVIYO_TEST_KEY,
      pacer: new RatePacer(shareOf(PUBLISHED_LIMITS, KLAVIYO_PACE_UTILISATION, 1), clock),
    });

    const liveEvents = orderEvents(liveOrders, afterSalesEvery, false);
    for (const event of liveEvents) await connector.deliverOne(event);
    const liveByRoute = countByRoute(sandbox);
    const liveCalls = sandbox.requests.length;

    sandbox.reset();
    const started = clock.now();
    const historyEvents = orderEvents(historyOrders, afterSalesEvery, true);
    for (let i = 0; i < historyEvents.length; i += batchSize) {
      await (connector.deliverMany as (events: BusinessEvent[]) => Promise<void>)(historyEvents.slice(i, i + batchSize));
    }
    const virtualMinutes = (clock.now() - started) / 60_000;
    const rates: Partial<Record<RouteName, RouteRate>> = {};
    for (const route of ['bulkCreateEvents', 'bulkImportProfiles'] as const) {
      const rate = rateAgainst(sandbox.requests, (r) => r === route, (sandbox.limitOf(route) as RateLimit).perMinute);
      if (rate) rates[route] = rate;
    }
    return {
      live: {
        orders: liveOrders,
        events: liveEvents.length,
        calls: liveCalls,
        callsPer1000Orders: (liveCalls / liveOrders) * 1_000,
        byRoute: liveByRoute,
      },
      history: {
        orders: historyOrders,
        events: historyEvents.length,
        calls: sandbox.requests.length,
        callsPer1000Orders: (sandbox.requests.length / historyOrders) * 1_000,
        byRoute: countByRoute(sandbox),
        virtualMinutes,
        eventsPerMinute: sandbox.store.events.length / Math.max(virtualMinutes, 1 / 60),
        rates,
        throttled: sandbox.requests.filter((r) => r.status === 429).length,
      },
    };
  } finally {
    await sandbox.close();
  }
}

/** Human-readable lines for `npm run bench`. */
export function formatKlaviyoBench(result: KlaviyoBenchResult): string[] {
  const { live, history } = result;
  const lines = [
    `klaviyo live:    ${live.callsPer1000Orders.toFixed(0)} calls / 1,000 orders (${live.events} events from ${live.orders} orders; ${JSON.stringify(live.byRoute)})`,
    `klaviyo history: ${history.callsPer1000Orders.toFixed(1)} calls / 1,000 orders (${history.events} events from ${history.orders} orders; ${JSON.stringify(history.byRoute)})`,
    `klaviyo history: ${history.eventsPerMinute.toFixed(0)} events / min over ${history.virtualMinutes.toFixed(1)} virtual min, ${history.throttled} × 429`,
  ];
  for (const [route, rate] of Object.entries(history.rates)) {
    lines.push(
      rate.perMinute === null || rate.fractionOfLimit === null
        ? `klaviyo history: ${route} ${rate.requests} requests, under a minute: too short to measure the rate`
        : `klaviyo history: ${route} ${rate.perMinute.toFixed(1)} / min = ${(rate.fractionOfLimit * 100).toFixed(1)} % of the sandbox limit (${rate.limitPerMinute} / min)`,
    );
  }
  return lines;
}
