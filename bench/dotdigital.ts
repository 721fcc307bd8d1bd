/**
 * Dotdigital efficiency, measured by running the real connector against the Dotdigital sandbox: API calls per
 * 1,000 orders live (contact PATCH, record read and write per fact, programme enrolment) and as a history load
 * (async contact and insight imports per batch, with their status polls and the reads that keep stored refunds).
 * Waits (import polls, rate-limit resets) run on virtual time (./virtualTime), so the numbers come quickly.
 */
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
import { dotdigitalConfig } from '../test/support/dotdigitalFixtures';
import { orderLifeEvents } from '../test/support/klaviyoFixtures';
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
  return {
    orders,
    events,
    calls: requests.length,
    callsPer1000Orders: (requests.length / orders) * 1_000,
    byRoute,
    throttled: requests.filter((r) => r.status === 429).length,
    spanMs: requests.length > 0 ? (requests[requests.length - 1] as ReceivedRequest).at - (requests[0] as ReceivedRequest).at : 0,
  };
}

/** A sandbox as the measurement needs it: what it received, and a way back to an empty account. */
export interface Measured {
  requests: readonly ReceivedRequest[];
  reset(): void;
  close(): Promise<void>;
}

/**
 * Live (one event at a time) then history (batches through the bulk path), each with a fresh connector as a fresh
 * Lambda would be, so its one-time setup (region, token, data fields) counts in each mode.
 */
export async function measure(sandbox: Measured, connect: () => Connector, options: BenchOptions, historyDefault: number): Promise<BenchResult> {
  const liveOrders = options.liveOrders ?? 1_000;
  const historyOrders = options.historyOrders ?? historyDefault;
  const batchSize = options.batchSize ?? 500;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  try {
    const connector = connect();
    const liveEvents = benchOrderEvents(liveOrders, afterSalesEvery, false);
    for (const event of liveEvents) await connector.deliverOne(event);
    const live = modeResult(sandbox.requests, liveOrders, liveEvents.length);

    sandbox.reset();
    const history = connect();
    const historyEvents = benchOrderEvents(historyOrders, afterSalesEvery, true);
    for (let i = 0; i < historyEvents.length; i += batchSize) {
      await (history.deliverMany as (events: BusinessEvent[]) => Promise<void>)(historyEvents.slice(i, i + batchSize));
    }
    return { live, history: modeResult(sandbox.requests, historyOrders, historyEvents.length) };
  } finally {
    await sandbox.close();
  }
}

export async function benchDotdigital(options: BenchOptions = {}): Promise<BenchResult> {
  const clock = new VirtualTime();
  const sandbox = await startDotdigitalSandbox({ now: clock.now });
  const connect = () =>
    createDotdigitalConnector({
      config: dotdigitalConfig({ baseUrl: sandbox.url, bulk: 'auto' }),
      http: createHttpClient({ sleep: clock.sleep, now: clock.now, retryAfter: dotdigitalRetryAfter }),
      credentials: async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD }),
      sleep: clock.sleep,
    });
  return measure(sandbox, connect, options, 5_000);
}

/** Human-readable lines for `npm run bench`. */
export function formatBench(name: string, result: BenchResult): string[] {
  return (['live', 'history'] as const).map((mode) => {
    const r = result[mode];
    return `${name} ${mode}: ${r.callsPer1000Orders.toFixed(1)} calls / 1,000 orders (${r.events} events from ${r.orders} orders, ${r.throttled} × 429; ${JSON.stringify(r.byRoute)})`;
  });
}
