/**
 * Smoke test of `npm run bench -- --json` in its quick mode: stdout is only metric lines, one JSON object each, and
 * every metric docs/performance.md reports is there with a number and a unit, including a history rate fraction and
 * 429 count for every connector not listed (with its reason) in NO_HISTORY_RATE. No figure is asserted: speed
 * belongs to the benchmark, not to a test.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { handlerModules } from '../../bench/bundles';
import { NO_HISTORY_RATE } from '../../bench/run';
import { CONNECTOR_NAMES } from '../../functions/shared/config';

const EXPECTED = [
  'pipeline.orders_per_second',
  ...CONNECTOR_NAMES.flatMap((name) => [`${name}.calls_per_1000_orders.live`, `${name}.calls_per_1000_orders.history`]),
  ...CONNECTOR_NAMES.filter((name) => !(name in NO_HISTORY_RATE)).flatMap((name) => [`${name}.history.rate_fraction`, `${name}.history.throttled`]),
  // The throughput behind the bulk loads' rate fractions (sfcc-orders has no bulk form: its rate is its throughput).
  ...['klaviyo', 'dotdigital', 'sfmc'].map((name) => `${name}.history.records_per_minute`),
  'mirakl.calls_per_poll',
  'latency.p50_ms',
  'latency.p99_ms',
  ...handlerModules().flatMap((name) => [`lambda.${name}.bundle_kb`, `lambda.${name}.init_ms`]),
  'cost.usd_per_million_orders',
];

describe('npm run bench', () => {
  it('prints every metric as one JSON line {metric, value, unit}', () => {
    const run = spawnSync('npx', ['tsx', 'bench/run.ts', '--quick', '--json'], { encoding: 'utf8', timeout: 150_000 });
    expect(run.status, run.stderr.slice(-2_000)).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const metrics = lines.map((line) => JSON.parse(line) as { metric: string; value: unknown; unit: unknown });
    for (const m of metrics) {
      expect(Object.keys(m).sort()).toEqual(['metric', 'unit', 'value']);
      expect(typeof m.value === 'number' && Number.isFinite(m.value), m.metric).toBe(true);
      expect(typeof m.unit === 'string' && m.unit.length > 0, m.metric).toBe(true);
    }
    expect(metrics.map((m) => m.metric).sort()).toEqual([...EXPECTED].sort());
  }, 180_000);
});
