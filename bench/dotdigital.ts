/**
 * Dotdigital efficiency, measured by running the real connector against the Dotdigital sandbox: API calls per
 * 1,000 orders live (contact PATCH, record read and write per fact, programme enrolment) and as a history load
 * (async contact and insight imports per batch, with their status polls and the reads that keep stored refunds),
 * with the history load's records per minute and its rate in tier low (the bulk imports) over the modelled allowance.
 * Each instance paces under its share of the allowances, as deployed. Waits (import polls, pacing, rate-limit resets)
 * run on virtual time (./virtualTime), so the numbers come quickly.
 */
import { DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE } from '../functions/shared/config';
import type { Connector } from '../functions/shared/connector/runtime';
import type { BusinessEvent } from '../functions/shared/events';
import { createDotdigitalConnector, dotdigitalRetryAfter } from '../functions/shared/dotdigital/connector';
import { createHttpClient } from '../functions/shared/http';
import {
  DOTDIGITAL_SANDBOX_PASSWORD,
  DOTDIGITAL_SANDBOX_USER,
  type ReceivedRequest,
  startDotdigitalSandbox,
} from '../local/sandboxes/dotdigital';
import { InMemoryLeaseStore } from '../functions/shared/connector/lease';
import { dotdigitalPacer, dotdigitalTierOf } from '../functions/shared/dotdigital/pacing';
import { dotdigitalSettings } from '../functions/shared/dotdigital/requests';
import { BULK_BATCHING } from '../lib/constructs/connector';
import { dotdigitalConfig } from '../test/support/dotdigitalFixtures';
import { orderLifeEvents } from '../test/support/klaviyoFixtures';
import { type RouteRate, rateAgainst } from './rates';
import { VirtualTime } from './virtualTime';

export interface BenchOptions {
  liveOrders?: number;
  historyOrders?: number;
  /** Records per SQS batch during a history load. */
  batchSize?: number;
  /** One in this many orders also has an incident, a refund and a cancellation. */
  afterSalesEvery?: number;
}

export interface ModeResult {
  orders: number;
  events: number;
  calls: number;
  callsPer1000Orders: number;
  byRoute: Record<string, number>;
  throttled: number;
  /** Virtual time from the first request to the last: with the counts, the rate achieved against a limit. */
  spanMs: number;
  /** Records (business events) delivered per minute of that span: the throughput a rate fraction must come with. */
  recordsPerMinute: number;
}

export interface BenchResult {
  live: ModeResult;
  history: ModeResult;
}

/** Business events for `count` orders on Debenhams: confirmed and shipped, some with after-sales facts. */
export function benchOrderEvents(count: number, afterSalesEvery: number, backfill: boolean): BusinessEvent[] {
  const template = JSON.stringify(orderLifeEvents('debenhams', 'TPL-A', { backfill }));
  const events: BusinessEvent[] = [];
  for (let i = 0; i < count; i++) {
    const life = JSON.parse(template.replaceAll('TPL-A', `BN${i}-A`).replaceAll('C-1001', `BC-${i}`).replaceAll('q7k2m9x1ab', `relay${i}`)) as BusinessEvent[];
    events.push(...(i % afterSalesEvery === 0 ? life : life.filter((e) => e.detailType === 'Order Confirmed' || e.detailType === 'Order Shipped')));
  }
  return events;
}

/** Calls per route and per 1,000 orders from what a sandbox received. */
export function modeResult(requests: readonly ReceivedRequest[], orders: number, events: number): ModeResult {
  const byRoute: Record<string, number> = {};
  for (const r of requests) byRoute[r.route ?? r.path] = (byRoute[r.route ?? r.path] ?? 0) + 1;
  const spanMs = requests.length > 0 ? (requests[requests.length - 1] as ReceivedRequest).at - (requests[0] as ReceivedRequest).at : 0;
  return {
    orders,
    events,
    calls: requests.length,
    callsPer1000Orders: (requests.length / orders) * 1_000,
    byRoute,
    throttled: requests.filter((r) => r.status === 429).length,
    spanMs,
    recordsPerMinute: spanMs > 0 ? events / (spanMs / 60_000) : 0,
  };
}

/**
 * A history load as the event source delivers it: `instances` warm connector instances (the event source's maximum
 * concurrency) each taking the queue's next batch until it is empty, on virtual time so their waits overlap.
 */
export async function historyLoad(
  time: VirtualTime,
  instances: number,
  events: readonly BusinessEvent[],
  batchSize: number,
  connect: () => Connector,
): Promise<void> {
  let next = 0;
  await time.concurrently(
    Array.from({ length: instances }, () => async () => {
      const connector = connect();
      for (let i = next; i < events.length; i = next) {
        next += batchSize;
        await (connector.deliverMany as (batch: BusinessEvent[]) => Promise<void>)(events.slice(i, i + batchSize));
      }
    }),
  );
}

export interface DotdigitalBenchResult extends BenchResult {
  history: ModeResult & { instances: number; lowTierRate: RouteRate | undefined };
}

/**
 * Live (one event at a time) then history (batches through the bulk path, at the default configuration: as many
 * instances as the default `maxConcurrency`, each with the default `historyInFlight`), each with fresh connectors as
 * fresh Lambdas would be, so their one-time setup (region, data fields) counts in each mode. The instances share
 * one lease store, as deployed instances share the state table.
 */
export async function benchDotdigital(options: BenchOptions = {}): Promise<DotdigitalBenchResult> {
  const liveOrders = options.liveOrders ?? 1_000;
  const historyOrders = options.historyOrders ?? 20_000;
  const batchSize = options.batchSize ?? BULK_BATCHING.batchSize;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const time = new VirtualTime();
  const sandbox = await startDotdigitalSandbox({ now: time.now, rateScheme: { kind: 'tiered', perMinute: { ...DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE } } });
  // The product's defaults (the test rig's own maxConcurrency is lower to keep its real-time tests quick).
  const config = dotdigitalConfig({ baseUrl: sandbox.url, bulk: 'auto', maxConcurrency: undefined });
  const leases = new InMemoryLeaseStore();
  const connect = (instancesSharing: number) =>
    createDotdigitalConnector({
      config,
      pacer: dotdigitalPacer(dotdigitalSettings(config), time, instancesSharing),
      http: createHttpClient({ sleep: time.sleep, now: time.now, fetch: time.fetch, retryAfter: dotdigitalRetryAfter }),
      credentials: async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD }),
      leases,
      sleep: time.sleep,
    });
  try {
    const liveEvents = benchOrderEvents(liveOrders, afterSalesEvery, false);
    // Live: one instance using the whole allowance (maxConcurrency splits it in production).
    const live = connect(1);
    for (const event of liveEvents) await live.deliverOne(event);
    const liveResult = modeResult(sandbox.requests, liveOrders, liveEvents.length);

    sandbox.reset();
    const instances = dotdigitalSettings(config).maxConcurrency;
    const historyEvents = benchOrderEvents(historyOrders, afterSalesEvery, true);
    await historyLoad(time, instances, historyEvents, batchSize, () => connect(instances));
    const lowTierRate = rateAgainst(sandbox.requests, (route) => route !== undefined && dotdigitalTierOf(route) === 'low', DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE.low);
    return { live: liveResult, history: { ...modeResult(sandbox.requests, historyOrders, historyEvents.length), instances, lowTierRate } };
  } finally {
    await sandbox.close();
  }
}

/** Human-readable lines for `npm run bench`. */
export function formatBench(name: string, result: BenchResult): string[] {
  return (['live', 'history'] as const).map((mode) => {
    const r = result[mode];
    return `${name} ${mode}: ${r.callsPer1000Orders.toFixed(1)} calls / 1,000 orders (${r.events} events from ${r.orders} orders, ${r.throttled} × 429; ${JSON.stringify(r.byRoute)})`;
  });
}
