/**
 * A history load end to end on the local runtime (`npm start` wiring): `marketbridge backfill` with its AWS wiring
 * against the emulators, OR13 → OR14 → OR15 from the Mirakl sandbox, the bus and the stack's rules, and the real
 * Klaviyo, Dotdigital and SFMC handlers. History reaches each destination through its bulk path, marked as history,
 * and fires no flow, programme or journey.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backfill } from '../../cli/backfill';
import { awsBackfillDependencies } from '../../functions/shared/backfill/awsDependencies';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { LocalRuntime } from '../../local/runtime';
import { type DotdigitalSandbox, attachDotdigitalSandbox } from '../../local/sandboxes/dotdigital';
import { type KlaviyoSandbox, attachKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { type SfmcSandbox, attachSfmcSandbox } from '../../local/sandboxes/sfmc';
import { MARKETING_CONNECTORS_INPUT, type TestRuntime, startTestRuntime } from '../support/localRuntime';

let local: TestRuntime;
let runtime: LocalRuntime;

beforeAll(async () => {
  local = await startTestRuntime('backfill', {
    config: parseConfig({
      ...sandboxConfigInput,
      connectors: {
        klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' },
        ...MARKETING_CONNECTORS_INPUT,
      },
    }),
    connectors: [
      { name: 'klaviyo', module: 'functions/klaviyo.ts' },
      { name: 'dotdigital', module: 'functions/dotdigital.ts' },
      { name: 'sfmc', module: 'functions/sfmc.ts' },
    ],
    destinationSandboxes: { klaviyo: attachKlaviyoSandbox, dotdigital: attachDotdigitalSandbox, sfmc: attachSfmcSandbox },
    queues: { batchSize: 10 },
    seed: 11,
  });
  runtime = local.runtime;
}, 60_000);

afterAll(() => local?.stop());

describe('marketbridge backfill on the local runtime', () => {
  it('loads the seeded history into every destination through its bulk path, firing nothing live', async () => {
    const lines: unknown[] = [];
    const out = { line: (v: unknown) => lines.push(v), error: () => undefined };
    const now = Date.now();
    const args = ['--marketplace', 'debenhams', '--from', new Date(now - 4 * 86_400_000).toISOString(), '--to', new Date(now).toISOString()];
    // The emulators' wiring, as `. .marketbridge/cli.env` gives the CLI; only OR14's 10 s wait is cut to its 2 s minimum.
    const deps = (config: Parameters<typeof awsBackfillDependencies>[0], mp: Parameters<typeof awsBackfillDependencies>[1]) => ({
      ...awsBackfillDependencies(config, mp),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 2_100))),
    });
    expect(await backfill(args, out, undefined, deps, new AbortController().signal)).toBe(0);
    expect(lines).toEqual([expect.objectContaining({ status: 'done', source: 'OR13' })]);

    const published = runtime.events().filter(({ event }) => event.source === 'marketbridge.mirakl');
    expect(published.length).toBeGreaterThan(0);
    expect(published.every(({ event }) => (event.detail as { backfill?: boolean }).backfill === true)).toBe(true);
    for (const connector of runtime.connectors) {
      await vi.waitFor(() => expect(connector.queue.depth()).toEqual({ visible: 0, inFlight: 0 }), { timeout: 60_000, interval: 200 });
      expect(connector.dlq.depth(), connector.name).toEqual({ visible: 0, inFlight: 0 });
    }

    const klaviyo = runtime.destinations.klaviyo as KlaviyoSandbox;
    const klaviyoRoutes = klaviyo.requests.map((r) => r.route);
    expect(klaviyoRoutes).toContain('bulkCreateEvents');
    expect(klaviyoRoutes).not.toContain('createEvent');
    expect(klaviyo.store.events.length).toBeGreaterThan(0);
    expect(klaviyo.store.events.every((e) => e.backfill)).toBe(true);

    const dotdigital = runtime.destinations.dotdigital as DotdigitalSandbox;
    expect(dotdigital.requests.map((r) => r.route)).toContain('importInsight');
    expect(dotdigital.store.enrolments).toEqual([]);

    const sfmc = runtime.destinations.sfmc as SfmcSandbox;
    expect(sfmc.requests.map((r) => r.route)).toContain('asyncUpsert');
    expect(sfmc.journeyEntries).toEqual([]);
  }, 120_000);
});
