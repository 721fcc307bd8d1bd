/**
 * SFCC efficiency, measured by running the real sfcc-orders connector against the SFCC sandbox: API calls per 1,000
 * orders for live traffic, for a history load, and for a history load run again over orders SFCC already has (the
 * idempotent path: refused create, then a read). SCAPI has no bulk order creation, so one createOrders per order is
 * the floor; tokens are fetched once per lifetime, not per call; refunds and cancellations cost a read and writes.
 */
import type { BusinessEvent } from '../functions/shared/events';
import { createHttpClient } from '../functions/shared/http';
import { createSfccOrdersConnector } from '../functions/shared/sfcc/connector';
import { type SfccSandbox, startSfccSandbox } from '../local/sandboxes/sfcc';
import { fixedSkuMap, sandboxSecret, sfccConfig, sfccOrderEvents } from '../test/support/sfccFixtures';

export interface SfccBenchOptions {
  orders?: number;
  /** One in this many orders also has a refund and a cancellation. */
  afterSalesEvery?: number;
}

export interface SfccRun {
  orders: number;
  events: number;
  calls: number;
  callsPer1000Orders: number;
  byRoute: Record<string, number>;
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

async function run(sandbox: SfccSandbox, events: BusinessEvent[], orders: number): Promise<SfccRun> {
  sandbox.requests.length = 0;
  // A fresh connector per run, like a cold Lambda: its token requests are counted too.
  const connector = createSfccOrdersConnector({
    config: sfccConfig(sandbox.url),
    http: createHttpClient({ sleep: async () => undefined }),
    secret: sandboxSecret,
    skuMap: () => fixedSkuMap(),
  });
  for (const event of events) await connector.deliverOne(event);
  const byRoute: Record<string, number> = {};
  for (const r of sandbox.requests) byRoute[r.route ?? r.path] = (byRoute[r.route ?? r.path] ?? 0) + 1;
  const calls = sandbox.requests.length;
  return { orders, events: events.length, calls, callsPer1000Orders: (calls / orders) * 1_000, byRoute };
}

export async function benchSfcc(options: SfccBenchOptions = {}): Promise<SfccBenchResult> {
  const orders = options.orders ?? 1_000;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const sandbox = await startSfccSandbox();
  try {
    const live = await run(sandbox, orderEvents(orders, afterSalesEvery, false), orders);
    sandbox.store.clear();
    const historyEvents = orderEvents(orders, afterSalesEvery, true);
    const history = await run(sandbox, historyEvents, orders);
    const historyAgain = await run(sandbox, historyEvents, orders);
    return { live, history, historyAgain };
  } finally {
    await sandbox.close();
  }
}

/** Human-readable lines for `npm run bench`. */
export function formatSfccBench(result: SfccBenchResult): string[] {
  const line = (label: string, r: SfccRun) =>
    `sfcc ${label} ${r.callsPer1000Orders.toFixed(0)} calls / 1,000 orders (${r.events} events from ${r.orders} orders; ${JSON.stringify(r.byRoute)})`;
  return [line('live:         ', result.live), line('history:      ', result.history), line('history again:', result.historyAgain)];
}
