/**
 * SFCC efficiency, measured by running the real sfcc-orders connector against the SFCC sandbox: API calls per 1,000
 * orders for live traffic, for a history load, and for a history load run again over orders SFCC already has (the
 * idempotent path: refused create, then a read). SCAPI has no bulk order creation, so one createOrders per order is
 * the floor; tokens are fetched once per lifetime, not per call; refunds and cancellations cost a read and writes.
 *
 * The connector paces its calls under SCAPI's published per-endpoint limits, which the sandbox enforces; on virtual
 * time (./virtualTime) the history load's rate on each paced endpoint is measured against its limit, with its 429s.
 */
import { RatePacer, shareOf } from '../functions/shared/connector/pacer';
import type { BusinessEvent } from '../functions/shared/events';
import { createHttpClient } from '../functions/shared/http';
import { SCAPI_ORDERS_LIMITS, SFCC_PACE_UTILISATION, type ScapiPacedOperation } from '../functions/shared/sfcc/client';
import { createSfccOrdersConnector } from '../functions/shared/sfcc/connector';
import { type SfccSandbox, startSfccSandbox } from '../local/sandboxes/sfcc';
import { fixedSkuMap, sandboxSecret, sfccConfig, sfccOrderEvents } from '../test/support/sfccFixtures';
import { type RouteRate, rateAgainst } from './rates';
import { VirtualTime } from './virtualTime';

export interface SfccBenchOptions {
  /** Orders of the live run. */
  orders?: number;
  /** Orders of the history load (and of its re-run); by default as many as live. Over a minute's worth to measure a rate. */
  historyOrders?: number;
  /** One in this many orders also has a refund and a cancellation. */
  afterSalesEvery?: number;
}

export interface SfccRun {
  orders: number;
  events: number;
  calls: number;
  callsPer1000Orders: number;
  byRoute: Record<string, number>;
  throttled: number;
  /** Per paced endpoint that carried requests: the rate against the limit the sandbox enforces. */
  rates: Partial<Record<ScapiPacedOperation, RouteRate>>;
}

export interface SfccBenchResult {
  live: SfccRun;
  history: SfccRun;
  historyAgain: SfccRun;
}

/** The sfcc-orders events of `count` orders: each confirmed, some refunded and cancelled too. */
function orderEvents(count: number, afterSalesEvery: number, backfill: boolean): BusinessEvent[] {
  const template = JSON.stringify(sfccOrderEvents('debenhams', 'TPL-A', { backfill }));
  const events: BusinessEvent[] = [];
  for (let i = 0; i < count; i++) {
    const life = JSON.parse(template.replaceAll('TPL-A', `SB${i}-A`)) as BusinessEvent[];
    events.push(...(i % afterSalesEvery === 0 ? life : life.filter((e) => e.detailType === 'Order Confirmed')));
  }
  return events;
}

async function run(sandbox: SfccSandbox, time: VirtualTime, events: BusinessEvent[], orders: number): Promise<SfccRun> {
  sandbox.requests.length = 0;
  // A fresh connector per run, like a cold Lambda: its token requests are counted too. One instance using the
  // whole quota (maxConcurrency splits it in production).
  const connector = createSfccOrdersConnector({
    config: sfccConfig(sandbox.url),
    http: createHttpClient({ sleep: time.sleep, now: time.now }),
    secret: sandboxSecret,
    skuMap: () => fixedSkuMap(),
    pacer: new RatePacer(shareOf(SCAPI_ORDERS_LIMITS, SFCC_PACE_UTILISATION, 1), time),
  });
  for (const event of events) await connector.deliverOne(event);
  const byRoute: Record<string, number> = {};
  for (const r of sandbox.requests) byRoute[r.route ?? r.path] = (byRoute[r.route ?? r.path] ?? 0) + 1;
  const rates: Partial<Record<ScapiPacedOperation, RouteRate>> = {};
  for (const op of Object.keys(SCAPI_ORDERS_LIMITS) as ScapiPacedOperation[]) {
    const rate = rateAgainst(sandbox.requests, (route) => route === op, (sandbox.limitOf(op) ?? SCAPI_ORDERS_LIMITS[op]).perMinute);
    if (rate) rates[op] = rate;
  }
  const calls = sandbox.requests.length;
  const throttled = sandbox.requests.filter((r) => r.status === 429).length;
  return { orders, events: events.length, calls, callsPer1000Orders: (calls / orders) * 1_000, byRoute, throttled, rates };
}

export async function benchSfcc(options: SfccBenchOptions = {}): Promise<SfccBenchResult> {
  const orders = options.orders ?? 1_000;
  const historyOrders = options.historyOrders ?? orders;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const time = new VirtualTime();
  const sandbox = await startSfccSandbox({ now: time.now });
  try {
    // Separate loads a minute apart: a fresh instance's pacer knows nothing of the calls an earlier one made in the
    // current window (in production, instance turnover can cost a few 429s, which Retry-After absorbs).
    const live = await run(sandbox, time, orderEvents(orders, afterSalesEvery, false), orders);
    sandbox.store.clear();
    const historyEvents = orderEvents(historyOrders, afterSalesEvery, true);
    await time.sleep(60_000);
    const history = await run(sandbox, time, historyEvents, historyOrders);
    await time.sleep(60_000);
    const historyAgain = await run(sandbox, time, historyEvents, historyOrders);
    return { live, history, historyAgain };
  } finally {
    await sandbox.close();
  }
}

/** Human-readable lines for `npm run bench`. */
export function formatSfccBench(result: SfccBenchResult): string[] {
  const line = (label: string, r: SfccRun) =>
    `sfcc ${label} ${r.callsPer1000Orders.toFixed(0)} calls / 1,000 orders (${r.events} events from ${r.orders} orders, ${r.throttled} × 429; ${JSON.stringify(r.byRoute)})`;
  return [line('live:         ', result.live), line('history:      ', result.history), line('history again:', result.historyAgain)];
}
