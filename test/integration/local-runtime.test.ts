/**
 * `npm start` end to end on random ports: the real poller against the Mirakl sandbox through the AWS emulators,
 * events on the bus and in the event log, routed by the stack's rules to connector queues, a real connector
 * consuming its queue into its sandbox, the privacy consumer applying an erasure to our own tables, and a clean stop.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { type BusinessEvent, parseBusinessEvent } from '../../functions/shared/events';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import type { KlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { localDynamo, releaseOr11Slots, untilDrained } from '../support/operations';

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
    // The privacy consumer runs whatever the configuration, as the stack deploys it.
    connectors: [
      { name: 'klaviyo', module: 'functions/klaviyo.ts' },
      { name: 'privacy', module: 'functions/privacy.ts' },
    ],
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
    expect(Object.keys(byName).sort()).toEqual(['klaviyo', 'mirakl-acceptance', 'privacy']);
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
        expect.objectContaining({ connector: 'privacy', consuming: true, deadLettered: 0 }),
      ]),
    );
  });

  it('a buyer Mirakl anonymised is erased from our own tables by the privacy consumer and from the destination', async () => {
    const confirmed = runtime
      .events()
      .map(({ event }) => parseBusinessEvent(event))
      .filter((event): event is BusinessEvent<'Order Confirmed'> => event.detailType === 'Order Confirmed' && event.detail.marketplace === 'debenhams');
    const [theirs, someoneElses] = [confirmed[0]!, confirmed.find((e) => e.detail.order.buyer.customerId !== confirmed[0]!.detail.order.buyer.customerId)!];
    const { customerId, identity } = theirs.detail.order.buyer;
    const klaviyo = runtime.destinations.klaviyo as KlaviyoSandbox;
    const profiles = () => [...klaviyo.store.profiles.values()].map((p) => p.attributes.external_id);
    expect(profiles()).toContain(identity);

    // Two failed deliveries kept in the inbox with their events, so `exceptions retry` could re-publish them.
    const documents = DynamoDBDocumentClient.from(localDynamo(runtime));
    const table = runtime.aws.dynamo.tableNames.exceptions;
    const inbox = new DynamoExceptionRecorder(documents, table);
    for (const event of [theirs, someoneElses]) {
      await inbox.record({ type: 'delivery.failed', marketplace: 'debenhams', ref: event.detail.order.orderId, reason: 'HTTP 400', component: 'klaviyo', payloadRef: event.id, events: [event] });
    }

    expect(runtime.sandbox.world.anonymiseBuyer('debenhams', customerId).length).toBeGreaterThan(0);
    await releaseOr11Slots(runtime);
    await runtime.runPoll('debenhams');
    const erasures = runtime.events().filter(({ event }) => event['detail-type'] === 'Customer Erasure Requested');
    expect(erasures.map(({ event }) => event.detail.identity)).toEqual([identity]);
    expect([...erasures[0]!.routedTo].sort()).toEqual(['klaviyo', 'privacy']);
    await untilDrained(runtime, 'privacy');
    await untilDrained(runtime, 'klaviyo');

    const entries = (await documents.send(new ScanCommand({ TableName: table }))).Items ?? [];
    const entryOf = (event: BusinessEvent) => entries.find((e) => e.payloadRef === event.id)!;
    // Kept for finance and operations: the entry, its order reference, type, reason and counts; the payload goes.
    expect(entryOf(theirs)).toMatchObject({ type: 'delivery.failed', ref: theirs.detail.order.orderId, reason: 'HTTP 400', occurrences: 1, status: 'open' });
    expect(entryOf(theirs).payload).toBeUndefined();
    expect(entryOf(theirs).payloadErasedAt).toEqual(expect.any(String));
    expect(entryOf(someoneElses).payload).toContain(someoneElses.detail.order.buyer.identity);
    expect(profiles()).not.toContain(identity);
    expect(profiles()).toContain(someoneElses.detail.order.buyer.identity);
    const privacy = runtime.connectors.find((c) => c.name === 'privacy')!;
    expect(privacy.consumer?.stats.deletedRecords).toBe(1);
    expect(privacy.dlq.depth()).toEqual({ visible: 0, inFlight: 0 });
    documents.destroy();
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
