/**
 * `npm run bench`: every benchmark, a readable table; `npm run bench -- --json` prints one
 * `{"metric": NAME, "value": NUMBER, "unit": UNIT}` per line instead. `--quick` runs small volumes (the smoke test in
 * `npm test` uses it): the same metrics, not the figures to quote (its history loads last under a minute, too short
 * for a rate: their rate fractions read 0). Destination traffic runs on virtual time; pipeline throughput and
 * latency are wall-clock. Results and their meaning: docs/performance.md.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ConnectorName } from '../functions/shared/config';
import { benchBundles } from './bundles';
import { type ConnectorTraffic, modelCost } from './cost';
import { benchDotdigital } from './dotdigital';
import { benchKlaviyo } from './klaviyo';
import { benchLatency } from './latency';
import { benchMirakl } from './mirakl';
import { benchMiraklPoll, benchPipeline } from './pipeline';
import { highestFraction } from './rates';
import { benchSfcc } from './sfcc';
import { benchSfmc } from './sfmc';

export interface Metric {
  metric: string;
  value: number;
  unit: string;
}

/**
 * Connectors without a history rate fraction, and why. A history load publishes past orders' facts; the return
 * path acts on live facts (an order awaiting acceptance, a shipment, a stock change) with Mirakl calls whose
 * contract is a call frequency per order or per minute, not a request rate to fill.
 */
export const NO_HISTORY_RATE = {
  'mirakl-acceptance':
    'OR21 is one call per order awaiting acceptance ("at each new order"); a history load republishes an order still awaiting acceptance, which is live work, and nothing else',
  'mirakl-tracking': 'OR23/OR24 are one pair per shipment dispatched in SFCC; history loads publish no shipments',
  'mirakl-stock': 'STO01 is at most one import a minute, whatever the volume (mirakl-stock.calls_per_1000_orders); history loads publish no stock changes',
} as const satisfies Partial<Record<ConnectorName, string>>;

const VOLUMES = {
  full: {
    pipeline: 10_000,
    live: 1_000,
    klaviyoHistory: 40_000,
    dotdigitalHistory: 20_000,
    sfmcHistory: 70_000,
    commerce: 1_000,
    sfccHistory: 2_000,
    latency: 100,
  },
  quick: { pipeline: 500, live: 20, klaviyoHistory: 600, dotdigitalHistory: 200, sfmcHistory: 200, commerce: 20, sfccHistory: 20, latency: 5 },
} as const;

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runBench(options: { quick?: boolean } = {}, progress: (step: string) => void = () => undefined): Promise<Metric[]> {
  const v = VOLUMES[options.quick ? 'quick' : 'full'];
  const metrics: Metric[] = [];
  const add = (metric: string, value: number, unit: string) => metrics.push({ metric, value: round(value, unit === 'fraction' ? 3 : 1), unit });

  progress(`pipeline: ${v.pipeline} orders through the normaliser and every mapper`);
  const pipeline = await benchPipeline({ orders: v.pipeline });
  add('pipeline.orders_per_second', pipeline.ordersPerSecond, 'orders/s');

  progress('klaviyo');
  const klaviyo = await benchKlaviyo({ liveOrders: v.live, historyOrders: v.klaviyoHistory });
  progress('dotdigital');
  const dotdigital = await benchDotdigital({ liveOrders: v.live, historyOrders: v.dotdigitalHistory });
  progress('sfmc');
  const sfmc = await benchSfmc({ liveOrders: v.live, historyOrders: v.sfmcHistory });
  progress('sfcc-orders');
  const sfcc = await benchSfcc({ orders: v.commerce, historyOrders: v.sfccHistory });
  progress('mirakl return path');
  const mirakl = await benchMirakl({ orders: v.commerce });

  const perOrder = (calls: number, orders: number) => (calls / orders) * 1_000;
  // Mirakl has no bulk acceptance, tracking or stock-per-order call: a history load costs what live traffic costs.
  const returnPath = {
    'mirakl-acceptance': perOrder(sum(mirakl.acceptance), mirakl.orders),
    'mirakl-tracking': perOrder(sum(mirakl.dispatch), mirakl.orders),
    'mirakl-stock': perOrder(mirakl.stockImports, mirakl.stockChanges),
  };
  const calls: Record<string, { live: number; history: number }> = {
    klaviyo: { live: klaviyo.live.callsPer1000Orders, history: klaviyo.history.callsPer1000Orders },
    dotdigital: { live: dotdigital.live.callsPer1000Orders, history: dotdigital.history.callsPer1000Orders },
    sfmc: { live: sfmc.live.callsPer1000Orders, history: sfmc.history.callsPer1000Orders },
    'sfcc-orders': { live: sfcc.live.callsPer1000Orders, history: sfcc.history.callsPer1000Orders },
    ...Object.fromEntries(Object.entries(returnPath).map(([name, value]) => [name, { live: value, history: value }])),
  };
  for (const [name, { live, history }] of Object.entries(calls)) {
    add(`${name}.calls_per_1000_orders.live`, live, 'calls');
    add(`${name}.calls_per_1000_orders.history`, history, 'calls');
  }

  // A history load's rate over the limit its sandbox enforces (the highest of its limits), and the 429s it cost.
  const historyRates: Record<Exclude<ConnectorName, keyof typeof NO_HISTORY_RATE>, { fraction: number; throttled: number }> = {
    klaviyo: { fraction: highestFraction(Object.values(klaviyo.history.rates)), throttled: klaviyo.history.throttled },
    // Dotdigital's: tier low (the bulk imports), what a history load runs into.
    dotdigital: { fraction: highestFraction([dotdigital.history.lowTierRate]), throttled: dotdigital.history.throttled },
    sfmc: { fraction: highestFraction([sfmc.history.rate]), throttled: sfmc.history.throttled },
    'sfcc-orders': { fraction: highestFraction(Object.values(sfcc.history.rates)), throttled: sfcc.history.throttled },
  };
  for (const [name, { fraction, throttled }] of Object.entries(historyRates)) {
    add(`${name}.history.rate_fraction`, fraction, 'fraction');
    add(`${name}.history.throttled`, throttled, '429s');
  }
  // The throughput behind a rate fraction: more calls for the same records would raise the fraction, not this.
  add('klaviyo.history.records_per_minute', klaviyo.history.eventsPerMinute, 'records/min');
  add('dotdigital.history.records_per_minute', dotdigital.history.recordsPerMinute, 'records/min');
  add('sfmc.history.records_per_minute', sfmc.history.recordsPerMinute, 'records/min');

  progress('mirakl poll of 1,000 changed orders');
  const poll = await benchMiraklPoll({ changed: 1_000 });
  add('mirakl.calls_per_poll', poll.calls, 'calls');

  progress(`latency: ${v.latency} order changes on the local runtime`);
  const latency = await benchLatency({ orders: v.latency });
  add('latency.p50_ms', latency.p50Ms, 'ms');
  add('latency.p99_ms', latency.p99Ms, 'ms');

  progress('lambda bundles');
  for (const bundle of await benchBundles(undefined, { initRuns: options.quick ? 1 : 3 })) {
    add(`lambda.${bundle.name}.bundle_kb`, bundle.kb, 'KB');
    add(`lambda.${bundle.name}.init_ms`, bundle.initMs, 'ms');
  }

  const traffic: Record<string, ConnectorTraffic> = {
    klaviyo: { deliveriesPerOrder: klaviyo.live.events / klaviyo.live.orders, callsPerOrder: calls.klaviyo!.live / 1_000 },
    dotdigital: { deliveriesPerOrder: dotdigital.live.events / dotdigital.live.orders, callsPerOrder: calls.dotdigital!.live / 1_000 },
    sfmc: { deliveriesPerOrder: sfmc.live.events / sfmc.live.orders, callsPerOrder: calls.sfmc!.live / 1_000 },
    'sfcc-orders': { deliveriesPerOrder: sfcc.live.events / sfcc.live.orders, callsPerOrder: calls['sfcc-orders']!.live / 1_000 },
    // One acceptance, one shipment and one stock change per order.
    ...Object.fromEntries(Object.entries(returnPath).map(([name, value]) => [name, { deliveriesPerOrder: 1, callsPerOrder: value / 1_000 }])),
  };
  add('cost.usd_per_million_orders', modelCost(klaviyo.live.events / klaviyo.live.orders, traffic).usdPerMillionOrders, 'USD');
  return metrics;
}

/** A two-column table: metric and value with its unit. */
export function formatTable(metrics: readonly Metric[]): string {
  const width = Math.max(...metrics.map((m) => m.metric.length));
  const lines = metrics.map((m) => `${m.metric.padEnd(width)}  ${m.value.toLocaleString('en-GB')} ${m.unit}`);
  return [`${'metric'.padEnd(width)}  value`, '-'.repeat(width + 16), ...lines].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, quick: { type: 'boolean', default: false } } });
  // Handler logs (Powertools writes to stdout) go to stderr, so stdout holds only the results.
  const stdout = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  const started = Date.now();
  const metrics = await runBench({ quick: values.quick }, (step) => process.stderr.write(`bench: ${step}\n`));
  process.stderr.write(`bench: done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  stdout(values.json ? metrics.map((m) => `${JSON.stringify(m)}\n`).join('') : `${formatTable(metrics)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
