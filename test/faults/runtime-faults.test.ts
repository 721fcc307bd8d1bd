/**
 * Fault injection on the whole local pipeline: the real poller against the Mirakl sandbox, the stack's routing, SQS
 * semantics (short visibility timeouts so redeliveries come quickly), and the deployable Klaviyo, Dotdigital, SFMC
 * and sfcc-orders Lambdas writing to their sandboxes. Each scenario creates fresh orders in Mirakl, breaks something
 * and, once every queue is empty, counts in the sandboxes that each order reached each destination exactly once:
 * one Placed Order per order in Klaviyo, one `orders` record in Dotdigital, one order row and one journey entry
 * (where the marketplace allows marketing) in SFMC, one successful createOrders in SFCC. Poison records end as
 * exceptions and in the DLQ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { everyDestinationConfig, mapSandboxSkus, minutePasses, newConfirmedOrders } from '../../bench/latency';
import { orderNoFor } from '../../functions/shared/sfcc/mapping';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import type { DotdigitalSandbox } from '../../local/sandboxes/dotdigital';
import type { KlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import type { SfccSandbox } from '../../local/sandboxes/sfcc';
import type { SfmcSandbox } from '../../local/sandboxes/sfmc';
import { type NetworkFaults, installNetworkFaults } from './network';
import { connectorOf, emptyDeadLetterQueues, expectNoDeadLetters, redriveTwice, settled as queuesSettled } from './pipeline';

/**
 * Locally the visibility timeout is also the Lambda's timeout (middy ends a handler just before it, and the local
 * event source stops one that still runs and replaces its environment): keep it well above a batch's duration, or
 * a batch is cut short where in AWS, with the visibility timeout six times the function timeout, it would finish.
 */
const VISIBILITY_SECONDS = 5;
const MAX_RECEIVES = 3;

const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-faults-'));
let runtime: LocalRuntime;
let network: NetworkFaults;
let documents: DynamoDBDocumentClient;
let mappedSkus: Map<string, string[]>;

const klaviyo = () => runtime.destinations.klaviyo as KlaviyoSandbox;
const dotdigital = () => runtime.destinations.dotdigital as DotdigitalSandbox;
const sfmc = () => runtime.destinations.sfmc as SfmcSandbox;
const sfcc = () => runtime.destinations['sfcc-orders'] as SfccSandbox;
const origin = (name: string) => new URL(runtime.destinations[name]!.url).origin;
const connector = (name: string) => connectorOf(runtime, name);

beforeAll(async () => {
  // Before the runtime: connectors build their HTTP clients (and keep `fetch`) on their first invocation.
  network = installNetworkFaults();
  runtime = await startLocalRuntime({
    config: everyDestinationConfig(),
    dataDir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 31,
    queues: { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVES, pollIntervalMs: 25 },
  });
  const client = new DynamoDBClient({ endpoint: runtime.aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  documents = DynamoDBDocumentClient.from(client);
  mappedSkus = await mapSandboxSkus(runtime, documents);
  // The seeded history first, so every scenario below starts from empty queues.
  await poll();
  await settled(90_000);
  emptyDeadLetterQueues(runtime);
}, 150_000);

afterAll(async () => {
  network?.uninstall();
  await runtime?.stop();
  documents?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

const settled = (timeout = 60_000) => queuesSettled(runtime, { timeout });

/** New accepted and paid orders on mapped SKUs; returns `{mp}:{order_id}` keys. */
function newOrders(mp: string, count: number): string[] {
  return newConfirmedOrders(runtime, mp, mappedSkus.get(mp)!, count).map((orderId) => `${mp}:${orderId}`);
}

async function poll(): Promise<void> {
  await minutePasses(runtime, documents);
  await runtime.runPoll('debenhams');
  await runtime.runPoll('decathlon');
}

/** Each order reached each destination exactly once, as the destination itself shows it. */
function expectExactlyOnce(keys: readonly string[]): void {
  const placed = klaviyo().store.events.filter((e) => e.metric === 'Placed Order').map((e) => e.uniqueId);
  const records = dotdigital().store.recordsIn('Orders').map((r) => r.key);
  const rows = [...(sfmc().rows.get('MarketBridge_Orders')?.keys() ?? [])];
  const created = sfcc()
    .requests.filter((r) => r.route === 'createOrders' && r.status >= 200 && r.status < 300)
    .map((r) => (r.body as { orderNo?: string }).orderNo);
  for (const key of keys) {
    const [mp, orderId] = key.split(':') as [string, string];
    expect(placed.filter((id) => id === `${key}:confirmed`), `klaviyo ${key}`).toHaveLength(1);
    expect(records.filter((k) => k === key), `dotdigital ${key}`).toHaveLength(1);
    expect(rows.filter((k) => k === key), `sfmc ${key}`).toHaveLength(1);
    expect(created.filter((no) => no === orderNoFor(mp, orderId)), `sfcc ${key}`).toHaveLength(1);
    // Journeys are not idempotent in SFMC: a second entry would send the buyer a second message.
    const entries = sfmc().journeyEntries.filter((e) => JSON.stringify(e.data).includes(`"${orderId}"`));
    expect(entries.length, `sfmc journey ${key}`).toBe(mp === 'debenhams' ? 1 : 0);
  }
}

const DESTINATIONS = ['klaviyo', 'dotdigital', 'sfmc', 'sfcc-orders'];

/** Polls, waits for every queue to empty, and checks the orders arrived once everywhere and nothing dead-lettered. */
async function pollUntilDelivered(keys: readonly string[]): Promise<void> {
  await poll();
  await settled();
  for (const name of DESTINATIONS) expect(network.pending(origin(name)), `${name}: every scripted network fault fired`).toBe(0);
  expectExactlyOnce(keys);
  expectNoDeadLetters(runtime);
}

async function exceptions(): Promise<Record<string, unknown>[]> {
  return (await documents.send(new ScanCommand({ TableName: runtime.aws.dynamo.tableNames.exceptions }))).Items ?? [];
}

const JOURNEY_ENTRY = /^\/interaction\/v1\/events$/;

/** The orders among `keys` whose SFMC journey entry was sent without an answer and is left for a person to check. */
async function uncertainEntries(keys: readonly string[]): Promise<string[]> {
  const orderIds = new Set(keys.map((k) => k.split(':')[1]));
  return (await exceptions())
    .filter((e) => e.component === 'sfmc' && e.type === 'journey.entry-uncertain' && orderIds.has(String(e.ref)))
    .map((e) => `${String(e.marketplace)}:${String(e.ref)}`);
}

describe('fault injection on the local pipeline', () => {
  it('429 storms with Retry-After, 5xx and timeouts at every destination', async () => {
    const keys = [...newOrders('debenhams', 4), ...newOrders('decathlon', 3)];
    klaviyo().inject({ kind: 'status', status: 429, times: 8, retryAfterSeconds: 1 });
    klaviyo().inject({ kind: 'status', status: 503, times: 3 });
    klaviyo().inject({ kind: 'timeout', times: 1, afterEffect: true, route: 'createEvent' });
    dotdigital().inject({ kind: 'status', status: 429, times: 6, retryAfterSeconds: 1 });
    dotdigital().inject({ kind: 'status', status: 500, times: 3 });
    sfmc().inject({ kind: 'status', status: 429, times: 6, retryAfterSeconds: 1 });
    sfmc().inject({ kind: 'status', status: 502, times: 3 });
    sfcc().inject({ kind: 'status', status: 429, times: 4, retryAfterSeconds: 1 });
    sfcc().inject({ kind: 'status', status: 503, times: 3, route: 'createOrders' });
    await pollUntilDelivered(keys);
    for (const sandbox of [klaviyo(), dotdigital(), sfmc(), sfcc()]) expect(sandbox.requests.some((r) => r.status === 429)).toBe(true);
  }, 90_000);

  it('connection resets, before and after the destination applied the request', async () => {
    const keys = [...newOrders('debenhams', 3), ...newOrders('decathlon', 2)];
    for (const name of DESTINATIONS) {
      network.reset(origin(name), 2);
      network.reset(origin(name), 2, { afterEffect: true });
    }
    await pollUntilDelivered(keys);
  }, 60_000);

  it('Mirakl failing mid-pagination and dropping connections: the next poll loses and doubles nothing', async () => {
    const keys = newOrders('debenhams', 105);
    runtime.sandbox.faults.failPage({ operation: 'OR11', offset: 100, status: 500, times: 10 });
    await minutePasses(runtime, documents);
    await expect(runtime.runPoll('debenhams')).rejects.toThrow();
    runtime.sandbox.faults.clear();
    runtime.sandbox.faults.resetConnection({ operation: 'OR11', times: 1 });
    await minutePasses(runtime, documents);
    await runtime.runPoll('debenhams');
    expect(runtime.sandbox.requests.some((r) => r.operation === 'OR11' && r.status === 500)).toBe(true);
    // The failed run published its first page; the rerun re-read it and published none of it again.
    const ids = runtime.events().map(({ event }) => event.detail.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    await settled(90_000);
    expectExactlyOnce(keys);
    expectNoDeadLetters(runtime);
  }, 120_000);

  it('a connector crash after the downstream write and before the ack', async () => {
    const keys = [...newOrders('debenhams', 2), ...newOrders('decathlon', 1)];
    // Each destination's first write lands, then its Lambda dies: the message returns after the visibility timeout.
    // The order writes, not token requests or start-up set-up: profile/event, contact/insight, rowset, createOrders.
    const writes: Record<string, RegExp> = {
      klaviyo: /^\/api\//,
      // Dotdigital serves each region under its own prefix (`/r2/contacts/v3/…`).
      dotdigital: /\/(contacts|insightData)\/v3\//,
      sfmc: /^\/hub\/v1\/dataevents\//,
      'sfcc-orders': /\/orders\b/,
    };
    for (const [name, path] of Object.entries(writes)) network.crash(origin(name), 1, path);
    // And SFMC's journey entry, which has no dedup key: the redelivery finds the entry's marker and does not fire it
    // again; a person checks the one entry whose outcome the connector never saw.
    network.crash(origin('sfmc'), 1, JOURNEY_ENTRY);
    await pollUntilDelivered(keys);
    expect(await uncertainEntries(keys)).toEqual([expect.stringMatching(/^debenhams:/)]);
  }, 60_000);

  it('a reset after SFMC entered the contact: no second entry, and the entry is left for a person to check', async () => {
    const keys = newOrders('debenhams', 2);
    network.reset(origin('sfmc'), 1, { afterEffect: true, path: JOURNEY_ENTRY });
    await pollUntilDelivered(keys);
    const [uncertain] = await uncertainEntries(keys);
    expect(await uncertainEntries(keys)).toEqual([uncertain]);
    const entered = sfmc().journeyEntries.filter((e) => e.data.OrderKey === uncertain);
    expect(entered, 'the reset hid an entry that happened').toHaveLength(1);
    expect(sfmc().requests.filter((r) => r.route === 'journeyEvent' && JSON.stringify(r.body).includes(`"${uncertain}"`))).toHaveLength(1);
  }, 60_000);

  it('duplicate and out-of-order deliveries', async () => {
    const keys = newOrders('debenhams', 3);
    await poll();
    await settled();
    const ours = runtime.events().filter(({ event }) => keys.some((k) => String(event.detail.eventId).startsWith(`${k}:`)));
    expect(ours.length).toBeGreaterThan(0);
    // Every fact of these orders again, twice, newest first: as a replay, an overlap re-read and a retry would.
    for (const { event } of [...ours, ...ours].reverse()) {
      runtime.bus.publish({ source: event.source, detailType: event['detail-type'], detail: event.detail });
    }
    await settled();
    expectExactlyOnce(keys);
    expectNoDeadLetters(runtime);
  }, 60_000);

  it('a destination down past the receive budget: DLQ and exceptions; redriven twice, delivered once', async () => {
    network.down(origin('klaviyo'));
    const keys = newOrders('debenhams', 2);
    await poll();
    await settled(60_000);
    const klaviyoDlq = connector('klaviyo').dlq;
    await vi.waitFor(() => expect(klaviyoDlq.depth().visible).toBeGreaterThanOrEqual(keys.length), { timeout: 30_000, interval: 100 });
    const failed = (await exceptions()).filter((e) => e.component === 'klaviyo' && e.type === 'delivery.failed');
    for (const key of keys) expect(failed.some((e) => e.ref === key.split(':')[1]), key).toBe(true);
    network.clear(origin('klaviyo'));

    await redriveTwice(runtime, ['klaviyo'], () => settled());
    expectExactlyOnce(keys);
    expectNoDeadLetters(runtime);
  }, 120_000);

  it('poison records: one the destination refuses, and malformed messages, end as exceptions in the DLQ', async () => {
    const keys = newOrders('debenhams', 1);
    await poll();
    await settled();
    const [mp, orderId] = keys[0]!.split(':') as [string, string];
    const confirmed = runtime.events().find(({ event }) => event.detail.eventId === `${mp}:${orderId}:confirmed`)!.event;
    // Klaviyo refuses event times before 1990: permanent for Klaviyo; another order id so it is a new fact.
    const poisonId = `${orderId}-POISON`;
    const detail = JSON.parse(JSON.stringify(confirmed.detail).replaceAll(orderId, poisonId)) as typeof confirmed.detail;
    runtime.bus.publish({ source: confirmed.source, detailType: confirmed['detail-type'], detail: { ...detail, occurredAt: '1985-01-01T00:00:00.000Z' } });
    for (const c of runtime.connectors) c.queue.send('{"detail":{"marketplace":"debenhams"},"not":"an event"}');

    await settled(60_000);
    await vi.waitFor(
      () => {
        // The malformed message in every DLQ, and the refused record in Klaviyo's.
        for (const c of runtime.connectors) expect(c.dlq.depth().visible, c.name).toBe(c.name === 'klaviyo' ? 2 : 1);
      },
      { timeout: 30_000, interval: 100 },
    );
    const recorded = await exceptions();
    for (const c of runtime.connectors) {
      expect(recorded.some((e) => e.component === c.name && e.type === 'event.invalid'), c.name).toBe(true);
    }
    expect(recorded.some((e) => e.component === 'klaviyo' && e.type === 'delivery.failed' && e.ref === poisonId)).toBe(true);
    // Everyone else took the poison order as a normal order; the good order was never held up.
    expectExactlyOnce(keys);
  }, 90_000);
});
