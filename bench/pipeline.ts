/**
 * Pipeline throughput: OR11 orders through the real ingest run (`runIngest`: tolerant read, snapshot diff, business
 * facts) and every fact through every connector's real mapper (Klaviyo, Dotdigital and SFMC request builders, the
 * SFCC order plan, the Mirakl acceptance plan), in memory as `marketbridge plan` runs them. No network: this is the
 * CPU cost per order that every Lambda pays before its first call.
 */
import { STOCK_NOT_CHECKED, miraklPlanLines } from '../functions/shared/commerce/plan';
import { MemoryMappingTable, SkuMap } from '../functions/shared/commerce/mappings';
import { type Config, marketplaceById, parseConfig, sandboxConfigInput } from '../functions/shared/config';
import { dotdigitalRequestsFor } from '../functions/shared/dotdigital/requests';
import type { BusinessEvent } from '../functions/shared/events';
import { createHttpClient } from '../functions/shared/http';
import { runIngest } from '../functions/shared/ingest/ingestRun';
import { miraklOrdersSource } from '../functions/shared/ingest/miraklSource';
import { createMiraklClient } from '../functions/shared/mirakl/client';
import { CollectingExceptions, MemoryState, RecordedOrders, openGate } from '../functions/shared/ingest/memory';
import type { MiraklOrdersSource } from '../functions/shared/ingest/ports';
import { klaviyoRequestsFor } from '../functions/shared/klaviyo/requests';
import { sfccPlanLines } from '../functions/shared/sfcc/requests';
import { CONNECTOR_ROUTES } from '../functions/shared/routes';
import { sfmcRequestsFor } from '../functions/shared/sfmc/requests';
import { startMiraklSandbox } from '../local/sandboxes/mirakl';
import { rawOrder } from '../test/support/miraklOrders';

/** Every connector enabled, with the settings each requires: the deployment the benchmark and security checks use. */
export const everyConnectorConfig: Config = parseConfig({
  ...sandboxConfigInput,
  sfcc: {
    shortCode: 'kv7kzm78',
    organizationId: 'f_ecom_zzxy_prd',
    siteId: 'RefArch',
    instanceHost: 'zzxy-001.dx.commercecloud.salesforce.com',
    secretName: 'marketbridge/sfcc',
    inventory: { listId: 'marketplace-inventory' },
  },
  connectors: {
    klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' },
    dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 4001, programmes: { confirmed: 7001 } },
    sfmc: { enabled: true, secretName: 'marketbridge/sfmc', subdomain: 'tenant', journeys: { confirmed: { eventDefinitionKey: 'APIEvent-1' } } },
    'sfcc-orders': { enabled: true, secretName: 'marketbridge/sfcc' },
    'mirakl-acceptance': { enabled: true },
    'mirakl-stock': { enabled: true },
    'mirakl-tracking': { enabled: true },
  },
});

const MARKETING = [
  ['klaviyo', klaviyoRequestsFor],
  ['dotdigital', dotdigitalRequestsFor],
  ['sfmc', sfmcRequestsFor],
] as const;

export interface PipelineResult {
  orders: number;
  events: number;
  /** Requests and plan lines the mappers produced. */
  mapped: number;
  seconds: number;
  ordersPerSecond: number;
}

/** One in ten orders waits for acceptance (the acceptance plan); the rest are accepted and paid (confirmed). */
function orders(count: number): unknown[] {
  return Array.from({ length: count }, (_, i) => {
    const order = rawOrder(`PB${i}-A`, i % 10 === 0 ? { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null } : {});
    (order.customer as { customer_id: string }).customer_id = `PBC-${i % 3_000}`;
    return order;
  });
}

/** The in-memory ingest dependencies of a dry run: `source` serves the orders, events go to `publish`. */
export function memoryIngest(source: () => Promise<MiraklOrdersSource>, publish: (events: readonly BusinessEvent[]) => Promise<void>) {
  const state = new MemoryState();
  return {
    snapshots: state,
    cursors: state,
    pending: state,
    gate: openGate,
    orders: source,
    publisher: { publish },
    exceptions: new CollectingExceptions(),
    log: { info: () => undefined, warn: () => undefined },
    now: () => new Date(),
  };
}

/** Mirakl calls one poll makes when `changed` orders changed since the last one: OR11 pages of 100, nothing else. */
export async function benchMiraklPoll(options: { changed?: number } = {}): Promise<{ changed: number; calls: number; byOperation: Record<string, number> }> {
  const changed = options.changed ?? 1_000;
  const apiKey = 'bench-key';
  const sandbox = await startMiraklSandbox({ port: 0, marketplaces: [{ id: 'debenhams', apiKey }], autoAccept: false });
  try {
    for (let i = 0; i < changed; i++) sandbox.world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE' });
    const marketplace = { ...marketplaceById(everyConnectorConfig, 'debenhams'), baseUrl: `${sandbox.url}/debenhams` };
    const client = createMiraklClient({ baseUrl: marketplace.baseUrl, apiKey, http: createHttpClient({ sleep: async () => undefined }) });
    await runIngest(memoryIngest(async () => miraklOrdersSource(client), async () => undefined), marketplace, 'poll');
    const byOperation: Record<string, number> = {};
    for (const r of sandbox.requests) byOperation[r.operation ?? r.path] = (byOperation[r.operation ?? r.path] ?? 0) + 1;
    return { changed, calls: sandbox.requests.length, byOperation };
  } finally {
    await sandbox.close();
  }
}

export async function benchPipeline(options: { orders?: number } = {}): Promise<PipelineResult> {
  const count = options.orders ?? 10_000;
  const config = everyConnectorConfig;
  const marketplace = marketplaceById(config, 'debenhams');
  const skus = new SkuMap(new MemoryMappingTable(), marketplace.id);
  for (let n = 1; n <= 2; n++) await skus.set(`SKU-${n}`, `P-${n}`);
  const input = orders(count);
  let events = 0;
  let mapped = 0;
  const map = async (event: BusinessEvent) => {
    for (const [name, planner] of MARKETING) {
      if (CONNECTOR_ROUTES[name].includes(event.detailType)) mapped += planner(event, config, { backfill: false }).length;
    }
    mapped += (await sfccPlanLines(event, config, () => skus)).length;
    mapped += (await miraklPlanLines(event, config, () => skus, () => STOCK_NOT_CHECKED)).length;
  };
  const started = performance.now();
  await runIngest(
    memoryIngest(
      async () => new RecordedOrders(input),
      async (published) => {
        for (const event of published) {
          events += 1;
          await map(event);
        }
      },
    ),
    marketplace,
    'poll',
  );
  const seconds = (performance.now() - started) / 1000;
  return { orders: count, events, mapped, seconds, ordersPerSecond: count / seconds };
}
