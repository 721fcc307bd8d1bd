/**
 * `npm start` with the sfcc-orders connector: the real poller reads the Mirakl sandbox, the stack's rule routes
 * confirmed, refunded and cancelled orders to the connector queue, and the deployable handler
 * (`functions/sfcc-orders.ts`: middy, the SFCC secret, the SKU map in the mappings table, Powertools idempotency)
 * creates one SFCC order per fully mapped Mirakl order, with commission attributes; orders with an unmapped SKU
 * become sku.unmapped exceptions and no SFCC order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoMappingTable } from '../../functions/shared/commerce/dynamoMappings';
import { SkuMap } from '../../functions/shared/commerce/mappings';
import type { Order } from '../../functions/shared/events';
import { orderNoFor } from '../../functions/shared/sfcc/mapping';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import type { SfccSandbox } from '../../local/sandboxes/sfcc';
import { attachSfccSandbox, sandboxProductId } from '../../local/sandboxes/sfcc/attach';
import { profileFor } from '../../local/sandboxes/mirakl/catalogue';
import { sfccConfig } from '../support/sfccFixtures';

const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-sfcc-'));
let runtime: LocalRuntime;
let client: DynamoDBClient;

beforeAll(async () => {
  runtime = await startLocalRuntime({
    config: sfccConfig(),
    connectors: [{ name: 'sfcc-orders', module: 'functions/sfcc-orders.ts' }],
    destinationSandboxes: { 'sfcc-orders': attachSfccSandbox },
    dataDir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 23,
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3, pollIntervalMs: 50 },
  });
  client = new DynamoDBClient({ endpoint: runtime.aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const table = new DynamoMappingTable(DynamoDBDocumentClient.from(client), runtime.aws.dynamo.tableNames.mappings);
  // The local SKU map: each mapped sandbox offer to the SFCC product the sandbox stocks.
  for (const [index, marketplace] of runtime.config.marketplaces.entries()) {
    const skus = new SkuMap(table, marketplace.id);
    for (const offer of profileFor({ id: marketplace.id, apiKey: '' }, index).offers) {
      const productId = sandboxProductId(offer.sku);
      if (productId) await skus.set(offer.sku, productId);
    }
  }
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local runtime with sfcc-orders', () => {
  it('creates one SFCC order per mapped Mirakl order with finance attributes; unmapped SKUs are exceptions', async () => {
    await runtime.runPoll('debenhams');
    await runtime.runPoll('decathlon');
    const routed = runtime
      .events()
      .filter(({ event }) => ['Order Confirmed', 'Order Refunded', 'Order Cancelled'].includes(event['detail-type']));
    const confirmed = routed.filter(({ event }) => event['detail-type'] === 'Order Confirmed');
    expect(confirmed.length).toBeGreaterThan(0);
    const connector = runtime.connectors.find((c) => c.name === 'sfcc-orders')!;
    await vi.waitFor(
      () => {
        const dead = connector.dlq.depth();
        expect((connector.consumer?.stats.deletedRecords ?? 0) + dead.visible + dead.inFlight).toBe(routed.length);
      },
      { timeout: 90_000, interval: 250 },
    );

    const sfcc = runtime.destinations['sfcc-orders'] as SfccSandbox;
    const orders = [...sfcc.store.orders.values()];
    const mapped = confirmed.filter(({ event }) =>
      (event.detail as { order: Order }).order.lines.every((l) => l.state === 'REFUSED' || !l.offerSku?.startsWith('UNMAPPED-')),
    );
    expect(orders).toHaveLength(mapped.length);
    for (const { event } of mapped) {
      const order = (event.detail as { order: Order }).order;
      const created = sfcc.store.orders.get(`RefArch\u0000${orderNoFor(event.detail.marketplace as string, order.orderId)}`);
      expect(created?.request.channelType).toBe('marketplace');
      expect(created?.custom.c_miraklOrderId).toBe(order.orderId);
      expect(typeof created?.custom.c_miraklCommissionTotal).toBe('number');
      expect(created?.custom.c_miraklNet).toBeLessThanOrEqual(created?.custom.c_miraklGross as number);
    }
    expect(sfcc.store.duplicatesRejected).toBe(0);

    const exceptions = (await DynamoDBDocumentClient.from(client).send(new ScanCommand({ TableName: runtime.aws.dynamo.tableNames.exceptions }))).Items ?? [];
    const unmapped = exceptions.filter((e) => e.type === 'sku.unmapped');
    expect(unmapped.length).toBe(confirmed.length - mapped.length);
    expect(unmapped.every((e) => String(e.reason).includes('UNMAPPED-'))).toBe(true);
  }, 120_000);
});
