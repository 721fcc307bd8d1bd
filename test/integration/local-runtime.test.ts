/**
 * `npm start` end to end on random ports: the real poller against the Mirakl sandbox through the AWS emulators,
 * events on the bus and in the event log, routed by the stack's rules to connector queues, a real connector
 * consuming its queue into its sandbox, and a clean stop.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { parseBusinessEvent } from '../../functions/shared/events';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';

const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-local-'));
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime({
    config: parseConfig({
      ...sandboxConfigInput,
      connectors: {
        // Enabled but registered without a handler module below: its queue fills up, nothing consumes it.
        'mirakl-acceptance': { enabled: true, marketplaces: ['debenhams'] },
        // The real connector against its sandbox, consumed from its queue.
        klaviyo: { enabled: true, marketplaces: ['debenhams'] },
      },
    }),
    connectors: [{ name: 'klaviyo', module: 'functions/klaviyo.ts' }],
    dataDir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 7,
  });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local runtime', () => {
  it('points the configuration at the sandbox and stores the generated keys as secrets', () => {
    for (const mp of runtime.config.marketplaces) {
      expect(mp.baseUrl).toBe(`${runtime.sandbox.url.replace(/\/$/, '')}/${mp.id}`);
      expect(runtime.secrets.has(mp.apiKeySecret)).toBe(true);
    }
    expect(runtime.secrets.has(runtime.config.webhook.secretName)).toBe(true);
  });

  it('polls the sandbox with the real poller and puts the business events on the bus and in the event log', async () => {
    await runtime.runPoll('debenhams');
    const events = runtime.events().filter((logged) => logged.event.detail.marketplace === 'debenhams');
    expect(events.length).toBeGreaterThan(0);
    for (const { event } of events) {
      const parsed = parseBusinessEvent(event);
      expect(parsed.id).toMatch(/^debenhams:/);
    }
    expect(new Set(events.map((logged) => logged.event['detail-type']))).toContain('Order Confirmed');
    expect(runtime.sandbox.requests.some((request) => request.operation === 'OR11' && request.status === 200)).toBe(true);

    const lines = readFileSync(runtime.eventLogFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(runtime.events().length);
    expect(JSON.parse(lines[0] ?? '{}').event.id).toBe(runtime.events()[0]?.event.id);
  });

  it('routes with the stack rules: only its detail types and marketplaces reach a connector queue', async () => {
    await runtime.runPoll('decathlon');
    const routedTo = (connector: 'mirakl-acceptance' | 'klaviyo') => {
      const routes: readonly string[] = CONNECTOR_ROUTES[connector];
      return runtime
        .events()
        .filter(({ event }) => event.detail.marketplace === 'debenhams' && routes.includes(event['detail-type']));
    };
    const acceptance = routedTo('mirakl-acceptance');
    const klaviyo = routedTo('klaviyo');
    expect(acceptance.length).toBeGreaterThan(0);
    expect(klaviyo.length).toBeGreaterThan(0);
    for (const logged of runtime.events()) {
      const expected = [
        ...(acceptance.includes(logged) ? ['mirakl-acceptance'] : []),
        ...(klaviyo.includes(logged) ? ['klaviyo'] : []),
      ];
      expect([...logged.routedTo].sort()).toEqual(expected.sort());
    }
    const byName = Object.fromEntries(runtime.connectors.map((c) => [c.name, c]));
    expect(byName['mirakl-acceptance']?.consumer).toBeUndefined();
    expect(byName['mirakl-acceptance']?.queue.depth()).toEqual({ visible: acceptance.length, inFlight: 0 });

    // The Klaviyo Lambda consumes its queue and delivers to its sandbox: nothing left, nothing dead-lettered.
    const consumer = byName.klaviyo?.consumer;
    await vi.waitFor(() => expect(consumer?.stats.deletedRecords).toBe(klaviyo.length), { timeout: 20_000 });
    expect(byName.klaviyo?.queue.depth()).toEqual({ visible: 0, inFlight: 0 });
    expect(byName.klaviyo?.dlq.depth()).toEqual({ visible: 0, inFlight: 0 });
    expect(runtime.destinations.klaviyo?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  });

  it('publishes nothing twice when the same orders are read again', async () => {
    const before = runtime.events().length;
    await runtime.runPoll('debenhams');
    await runtime.runPoll('debenhams', 'sweep');
    const ids = runtime.events().map(({ event }) => event.detail.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(runtime.events().length).toBe(before);
  });

  it('serves the webhook as a Function URL and the health API', async () => {
    const unsigned = await fetch(runtime.webhookUrl ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderIds: ['X-1'] }),
    });
    expect(unsigned.status).toBe(401);
    const health = await fetch(`${runtime.consoleUrl}api/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; events: { total: number }; queues: unknown[] };
    expect(body.status).toBe('ok');
    expect(body.events.total).toBe(runtime.events().length);
    expect(body.queues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ connector: 'mirakl-acceptance', consuming: false }),
        expect.objectContaining({ connector: 'klaviyo', consuming: true, deadLettered: 0 }),
      ]),
    );
  });

  it('stops cleanly: servers closed, a second stop is harmless', async () => {
    const urls = [
      runtime.sandbox.url,
      runtime.consoleUrl,
      runtime.webhookUrl ?? '',
      runtime.aws.endpoint,
      runtime.aws.dynamo.endpoint,
      ...Object.values(runtime.destinations).map((sandbox) => sandbox.url),
    ];
    await runtime.stop();
    await runtime.stop();
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
  });
});
