/**
 * SCAPI's published per-client limits of the Orders endpoints: the sandbox enforces them (429 problem+json with
 * Retry-After to the end of the 60-second window), and sfcc-orders paces under its share of them, so a history
 * load of more orders than a minute allows waits instead of being throttled. Time is virtual.
 */
import { describe, expect, it } from 'vitest';
import { VirtualTime } from '../../bench/virtualTime';
import type { Config } from '../../functions/shared/config';
import { RatePacer } from '../../functions/shared/connector/pacer';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError, createHttpClient } from '../../functions/shared/http';
import { SCAPI_ORDERS_LIMITS, sfccOrdersPacer } from '../../functions/shared/sfcc/client';
import { createSfccOrdersConnector } from '../../functions/shared/sfcc/connector';
import { type SfccSandboxOptions, startSfccSandbox } from '../../local/sandboxes/sfcc';
import { fixedSkuMap, sandboxSecret, sfccConfig, sfccOrderEvents } from '../support/sfccFixtures';


const confirmed = (orders: number) =>
  Array.from({ length: orders }, (_, i) => sfccOrderEvents('debenhams', `RL${i}-A`, { backfill: true })[0] as BusinessEvent);

function withConcurrency(config: Config, maxConcurrency: number): Config {
  const orders = config.connectors['sfcc-orders'];
  if (!orders) throw new Error('sfcc-orders is not configured');
  return { ...config, connectors: { ...config.connectors, 'sfcc-orders': { ...orders, maxConcurrency } } };
}

async function rig(sandboxOptions: Omit<SfccSandboxOptions, 'now'>, pacer: (config: Config, clock: VirtualTime) => RatePacer<keyof typeof SCAPI_ORDERS_LIMITS>) {
  const clock = new VirtualTime();
  const sandbox = await startSfccSandbox({ ...sandboxOptions, now: clock.now });
  const config = sfccConfig(sandbox.url);
  const connector = createSfccOrdersConnector({
    config,
    http: createHttpClient({ now: clock.now, sleep: clock.sleep, retry: { maxAttempts: 1 } }),
    secret: sandboxSecret,
    skuMap: () => fixedSkuMap(),
    pacer: pacer(config, clock),
  });
  return { clock, sandbox, config, connector };
}

describe('SCAPI Orders rate limits', () => {
  it('the sandbox enforces the published limits by default', async () => {
    const sandbox = await startSfccSandbox();
    try {
      expect(sandbox.limitOf('createOrders')).toEqual({ perSecond: 1_000, perMinute: 1_000 });
      for (const route of ['getOrder', 'updateOrder', 'updateOrderStatus'] as const) expect(sandbox.limitOf(route)).toEqual(SCAPI_ORDERS_LIMITS[route]);
      expect(sandbox.limitOf('updateOrderExternalStatus')).toBeUndefined();
    } finally {
      await sandbox.close();
    }
  });

  it('over a window\'s limit: 429 too-many-requests with Retry-After to the window\'s end; the next window admits', async () => {
    const unpaced = (_: Config, clock: VirtualTime) => new RatePacer({ ...SCAPI_ORDERS_LIMITS, createOrders: { perSecond: 100, perMinute: 100 } }, clock);
    const { clock, sandbox, connector } = await rig({ rateLimits: { createOrders: { perSecond: 3, perMinute: 3 } } }, unpaced);
    try {
      const [a, b, c, d] = confirmed(4) as [BusinessEvent, BusinessEvent, BusinessEvent, BusinessEvent];
      await clock.sleep(20_000);
      for (const event of [a, b, c]) await connector.deliverOne(event);
      const refused = await connector.deliverOne(d).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(HttpError);
      expect(refused).toMatchObject({ status: 429, retryable: true, retryAfterMs: 40_000 });
      expect(JSON.parse((refused as HttpError).bodySnippet ?? '{}')).toMatchObject({ title: 'Too Many Requests', type: expect.stringMatching(/too-many-requests$/) });
      await clock.sleep(40_000);
      await connector.deliverOne(d);
      expect(sandbox.requests.filter((r) => r.route === 'createOrders').map((r) => r.status)).toEqual([201, 201, 201, 429, 201]);
    } finally {
      await sandbox.close();
    }
  });

  it('sfcc-orders paces under its share: maxConcurrency 2 gets 475 creates a minute, and waits rather than meets a 429', async () => {
    const { clock, sandbox, connector } = await rig({}, (config, c) => sfccOrdersPacer(config, c));
    try {
      const started = clock.now();
      for (const event of confirmed(500)) await connector.deliverOne(event);
      const creates = sandbox.requests.filter((r) => r.route === 'createOrders');
      expect(creates.every((r) => r.status === 201)).toBe(true);
      expect(creates.filter((r) => r.at < started + 60_000)).toHaveLength(475);
      expect(clock.now() - started).toBeGreaterThanOrEqual(60_000);
    } finally {
      await sandbox.close();
    }
  });

  it('the share divides 95 % of each published limit by the connector\'s maximum concurrency', async () => {
    const clock = new VirtualTime();
    const pacer = sfccOrdersPacer(withConcurrency(sfccConfig(), 4), clock);
    const started = clock.now();
    for (let i = 0; i < 237; i++) await pacer.take('createOrders');
    expect(clock.now()).toBe(started);
    await pacer.take('createOrders');
    expect(clock.now()).toBe(started + 60_000);
    // Each endpoint has its own window: 950 reads at once, the 951st a minute later.
    for (let i = 0; i < 950; i++) await pacer.take('getOrder');
    expect(clock.now()).toBe(started + 60_000);
    await pacer.take('getOrder');
    expect(clock.now()).toBe(started + 120_000);
  });
});
