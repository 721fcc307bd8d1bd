/**
 * `npm start` with the Dotdigital and SFMC connectors: the real poller reads the Mirakl sandbox, the stack's rules
 * route business events to both connector queues, and the deployable handlers (`functions/dotdigital.ts`,
 * `functions/sfmc.ts`: middy, secrets from Secrets Manager, Powertools idempotency on DynamoDB) deliver buyers and
 * orders into both sandboxes, with nothing left on a queue or dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import type { LocalRuntime } from '../../local/runtime';
import { type DotdigitalSandbox, attachDotdigitalSandbox } from '../../local/sandboxes/dotdigital';
import { type SfmcSandbox, attachSfmcSandbox } from '../../local/sandboxes/sfmc';
import { MARKETING_CONNECTORS_INPUT, type TestRuntime, startTestRuntime } from '../support/localRuntime';

let local: TestRuntime;
let runtime: LocalRuntime;

beforeAll(async () => {
  local = await startTestRuntime('dd-sfmc', {
    config: parseConfig({ ...sandboxConfigInput, connectors: MARKETING_CONNECTORS_INPUT }),
    connectors: [
      { name: 'dotdigital', module: 'functions/dotdigital.ts' },
      { name: 'sfmc', module: 'functions/sfmc.ts' },
    ],
    destinationSandboxes: { dotdigital: attachDotdigitalSandbox, sfmc: attachSfmcSandbox },
    seed: 11,
  });
  runtime = local.runtime;
}, 60_000);

afterAll(() => local?.stop());

describe('local runtime with Dotdigital and SFMC', () => {
  it('delivers marketplace buyers and orders into both sandboxes, exactly once, nothing dead-lettered', async () => {
    await runtime.runPoll('debenhams');
    await runtime.runPoll('decathlon');
    const routed = (name: 'dotdigital' | 'sfmc') =>
      runtime.events().filter(({ event }) => (CONNECTOR_ROUTES[name] as readonly string[]).includes(event['detail-type']));
    const byName = Object.fromEntries(runtime.connectors.map((c) => [c.name, c]));
    for (const name of ['dotdigital', 'sfmc'] as const) {
      expect(routed(name).length).toBeGreaterThan(0);
      await vi.waitFor(() => expect(byName[name]?.consumer?.stats.deletedRecords).toBe(routed(name).length), { timeout: 60_000, interval: 200 });
      expect(byName[name]?.dlq.depth()).toEqual({ visible: 0, inFlight: 0 });
    }

    const dotdigital = runtime.destinations.dotdigital as DotdigitalSandbox;
    const confirmedOrders = new Set(
      routed('dotdigital')
        .filter(({ event }) => event['detail-type'] === 'Order Confirmed')
        .map(({ event }) => `${event.detail.marketplace}:${(event.detail as { order: { orderId: string } }).order.orderId}`),
    );
    const records = dotdigital.store.recordsIn('Orders').map((r) => r.key);
    expect(new Set(records).size).toBe(records.length);
    for (const key of confirmedOrders) expect(records).toContain(key);
    const contacts = [...dotdigital.store.contacts.values()];
    expect(contacts.length).toBeGreaterThan(0);
    expect(contacts.every((c) => c.lists.size === 1 && !c.identifiers.email?.includes('decathlon'))).toBe(true);
    expect(dotdigital.store.consentWrites).toBe(0);

    const sfmc = runtime.destinations.sfmc as SfmcSandbox;
    const orders = [...(sfmc.rows.get('MarketBridge_Orders')?.keys() ?? [])];
    for (const key of confirmedOrders) expect(orders).toContain(key);
    // One token per execution environment, reused for every call it makes (each concurrent Lambda has its own cache).
    expect(sfmc.tokenRequests).toBeGreaterThan(0);
    expect(sfmc.tokenRequests).toBeLessThanOrEqual(runtime.config.connectors.sfmc?.maxConcurrency ?? 0);
    // Decathlon forbids marketing: its buyers never enter the (marketing) confirmed journey.
    expect(sfmc.journeyEntries.length).toBeGreaterThan(0);
    expect(sfmc.journeyEntries.every((e) => e.contactKey.startsWith('mirakl:debenhams:'))).toBe(true);
  }, 90_000);

  it('a duplicate delivery of a marketing fact (a redrive, a replay) triggers no second journey entry or enrolment', async () => {
    const sfmc = runtime.destinations.sfmc as SfmcSandbox;
    const dotdigital = runtime.destinations.dotdigital as DotdigitalSandbox;
    const enrol = async () => {
      // Until nothing is pending: a buyer with two orders is enrolled once per call.
      for (let run = 0; run < 3; run++) await runtime.runScheduled('dotdigital-enrolments');
      return dotdigital.store.enrolments.flatMap((e) => e.contacts).length;
    };
    const entered = sfmc.journeyEntries.length;
    const enrolled = await enrol();
    expect(entered).toBeGreaterThan(0);
    expect(enrolled).toBeGreaterThan(0);
    const confirmed = runtime.events().filter(({ event }) => event['detail-type'] === 'Order Confirmed' && event.detail.marketplace === 'debenhams');
    expect(confirmed.length).toBeGreaterThan(0);
    const byName = Object.fromEntries(runtime.connectors.map((c) => [c.name, c]));
    const deleted = (name: string) => byName[name]?.consumer?.stats.deletedRecords ?? 0;
    const before = { dotdigital: deleted('dotdigital'), sfmc: deleted('sfmc') };
    for (const { event } of confirmed) runtime.bus.publish({ source: event.source, detailType: event['detail-type'], detail: event.detail });
    for (const name of ['dotdigital', 'sfmc'] as const) {
      await vi.waitFor(() => expect(deleted(name)).toBe(before[name] + confirmed.length), { timeout: 30_000, interval: 100 });
    }
    expect(sfmc.journeyEntries).toHaveLength(entered);
    expect(await enrol()).toBe(enrolled);
  }, 60_000);

  it('a second read of the same orders sends nothing more downstream', async () => {
    const dotdigital = runtime.destinations.dotdigital as DotdigitalSandbox;
    const sfmc = runtime.destinations.sfmc as SfmcSandbox;
    const before = [dotdigital.requests.length, sfmc.requests.length];
    await runtime.runPoll('debenhams', 'sweep');
    await runtime.runScheduled('dotdigital-enrolments');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([dotdigital.requests.length, sfmc.requests.length]).toEqual(before);
  });
});
