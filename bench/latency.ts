/**
 * Latency from a change in Mirakl to its last destination, on the local runtime: the real poller, bus, queues and
 * the Klaviyo, Dotdigital, SFMC and sfcc-orders Lambdas against their sandboxes. Orders change in the Mirakl
 * sandbox, a poll runs at once, and each order's latency is the time until the last destination received its write.
 * In production add the wait for the next scheduled poll (up to one poll interval, 1 minute by default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMappingTable } from '../functions/shared/commerce/dynamoMappings';
import { SkuMap } from '../functions/shared/commerce/mappings';
import { parseConfig } from '../functions/shared/config';
import { orderNoFor } from '../functions/shared/sfcc/mapping';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/aws/protocol';
import { type LocalRuntime, startLocalRuntime } from '../local/runtime';
import { profileFor } from '../local/sandboxes/mirakl/catalogue';
import { sandboxProductId } from '../local/sandboxes/sfcc/attach';
import { sfccConfig } from '../test/support/sfccFixtures';

/**
 * A minute passes for Mirakl's call-frequency contract (OR11 at most once a minute per marketplace): the call slots
 * the poller took move back a minute, so the next poll may call OR11 without waiting for real.
 */
export async function minutePasses(runtime: LocalRuntime, documents: DynamoDBDocumentClient): Promise<void> {
  const table = runtime.aws.dynamo.tableNames.state;
  const slots = (await documents.send(new ScanCommand({ TableName: table, FilterExpression: 'attribute_exists(lastCallAt)' }))).Items ?? [];
  for (const slot of slots) {
    await documents.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: slot.pk },
        UpdateExpression: 'SET lastCallAt = :earlier',
        ExpressionAttributeValues: { ':earlier': (slot.lastCallAt as number) - 60_000 },
      }),
    );
  }
}

/** Maps every sandbox offer SFCC stocks in the runtime's SKU map; returns the mapped offer SKUs per marketplace. */
export async function mapSandboxSkus(runtime: LocalRuntime, documents: DynamoDBDocumentClient): Promise<Map<string, string[]>> {
  const table = new DynamoMappingTable(documents, runtime.aws.dynamo.tableNames.mappings);
  const mapped = new Map<string, string[]>();
  for (const [index, marketplace] of runtime.config.marketplaces.entries()) {
    const skus = new SkuMap(table, marketplace.id);
    const list: string[] = [];
    for (const offer of profileFor({ id: marketplace.id, apiKey: '' }, index).offers) {
      const productId = sandboxProductId(offer.sku);
      if (!productId) continue;
      await skus.set(offer.sku, productId);
      list.push(offer.sku);
    }
    mapped.set(marketplace.id, list);
  }
  return mapped;
}

/** New accepted and paid orders in the Mirakl sandbox, every line on a mapped SKU; returns their order ids. */
export function newConfirmedOrders(runtime: LocalRuntime, mp: string, skus: readonly string[], count: number): string[] {
  const world = runtime.sandbox.world;
  return Array.from({ length: count }, (_, i) => {
    const order = world.createOrder(mp, { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: skus[i % skus.length]!, quantity: 1 }] });
    world.accept(mp, order.order_id);
    if (world.get(mp, order.order_id)!.order_state.startsWith('WAITING_DEBIT')) world.debit(mp, order.order_id);
    return order.order_id;
  });
}

/** Every destination connector on, both marketplaces, SFCC as the SFCC fixtures configure it. */
export function everyDestinationConfig() {
  const base = sfccConfig();
  return parseConfig({
    ...base,
    connectors: {
      ...base.connectors,
      klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' },
      dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 1 },
      sfmc: { enabled: true, secretName: 'marketbridge/sfmc', subdomain: 'mc-local', journeys: { confirmed: { eventDefinitionKey: 'APIEvent-confirmed' } } },
    },
  });
}

export interface LatencyResult {
  orders: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** When a destination first accepted a write mentioning the order (status 2xx), from its request log. */
function firstWrite(requests: readonly { status: number; body: unknown; at: number; method?: string }[], needle: string): number | undefined {
  return requests.find((r) => r.status >= 200 && r.status < 300 && r.method !== 'GET' && JSON.stringify(r.body ?? '').includes(needle))?.at;
}

export async function benchLatency(options: { orders?: number } = {}): Promise<LatencyResult> {
  const count = options.orders ?? 100;
  const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-bench-'));
  const runtime = await startLocalRuntime({
    config: everyDestinationConfig(),
    dataDir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 3,
    // History orders on unmapped SKUs fail for sfcc-orders until their DLQ: two receives get them there. The
    // visibility timeout is also the invocation's time budget (idempotency's in-progress window): at 1 s a
    // Dotdigital batch outran it and its records were redelivered while in progress, so 10 s.
    queues: { visibilityTimeoutSeconds: 10, maxReceiveCount: 2, pollIntervalMs: 20 },
  });
  const client = new DynamoDBClient({ endpoint: runtime.aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const documents = DynamoDBDocumentClient.from(client);
  const drained = async () => {
    for (;;) {
      if (runtime.connectors.every((c) => c.queue.depth().visible + c.queue.depth().inFlight === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    const skus = await mapSandboxSkus(runtime, documents);
    // The seeded history first, so the measured orders do not queue behind it.
    await runtime.runPoll('debenhams');
    await drained();
    await minutePasses(runtime, documents);
    const orderIds = newConfirmedOrders(runtime, 'debenhams', skus.get('debenhams')!, count);
    const changedAt = Date.now();
    await runtime.runPoll('debenhams');
    await drained();
    const sandboxes = ['klaviyo', 'dotdigital', 'sfmc', 'sfcc-orders'].map(
      (name) => runtime.destinations[name] as unknown as { requests: { status: number; body: unknown; at: number; method?: string }[] },
    );
    const latencies = orderIds
      .map((orderId) => {
        const needles = [orderId, orderId, orderId, orderNoFor('debenhams', orderId)];
        const times = sandboxes.map((sandbox, i) => firstWrite(sandbox.requests, needles[i]!));
        return times.every((t) => t !== undefined) ? Math.max(...(times as number[])) - changedAt : Number.POSITIVE_INFINITY;
      })
      .sort((a, b) => a - b);
    const undelivered = latencies.filter((ms) => ms === Number.POSITIVE_INFINITY).length;
    // A percentile of orders that never arrived is no figure: say so rather than print one.
    if (undelivered > 0) throw new Error(`latency: ${undelivered} of ${count} orders never reached every destination (connector logs are on stderr)`);
    return { orders: count, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies[latencies.length - 1] ?? Number.NaN };
  } finally {
    client.destroy();
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
