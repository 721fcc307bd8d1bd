/**
 * Mirakl return-path efficiency, measured by running the real connectors against the Mirakl sandbox: calls per
 * 1,000 orders for acceptance (one OR21 each is the floor: Mirakl has no bulk acceptance) and dispatch (OR23 +
 * OR24 each, SH21 at most once a day), and STO01 imports for 1,000 stock changes arriving within a minute: the
 * first change goes at once, every later one waits for the next run (STO01 is once a minute) and goes in its file.
 */
import { createAcceptanceConnector } from '../functions/shared/commerce/acceptanceConnector';
import { MemoryMappingTable, SkuMap } from '../functions/shared/commerce/mappings';
import { StaticAvailableToSell } from '../functions/shared/commerce/ports';
import { createStockConnector, runStockPush } from '../functions/shared/commerce/stockPush';
import { createTrackingConnector } from '../functions/shared/commerce/trackingConnector';
import { parseConfig, sandboxConfigInput } from '../functions/shared/config';
import { businessEvent, eventIds } from '../functions/shared/events';
import { createHttpClient } from '../functions/shared/http';
import { orderFacts } from '../functions/shared/ingest/orderFacts';
import { InMemoryCallSlotStore, createMarketplaceGuard } from '../functions/shared/mirakl/callFrequency';
import { createMiraklClient } from '../functions/shared/mirakl/client';
import { startMiraklSandbox } from '../local/sandboxes/mirakl';

const MP = 'debenhams';
const KEY = 'bench-key';

export interface MiraklBenchResult {
  orders: number;
  /** Calls by operation for acceptance and dispatch of `orders` orders. */
  acceptance: Record<string, number>;
  dispatch: Record<string, number>;
  /** STO01 imports for `orders` stock changes delivered within one minute, then one scheduled run. */
  stockChanges: number;
  stockImports: number;
  /** Lines of the scheduled run's import: every SKU changed while STO01 was not allowed. */
  linesInScheduledImport: number;
}

export async function benchMirakl(options: { orders?: number } = {}): Promise<MiraklBenchResult> {
  const orders = options.orders ?? 1_000;
  const sandbox = await startMiraklSandbox({ port: 0, marketplaces: [{ id: MP, apiKey: KEY }], autoAccept: false });
  try {
    const config = parseConfig({
      ...sandboxConfigInput,
      marketplaces: sandboxConfigInput.marketplaces.map((mp) => ({ ...mp, baseUrl: `${sandbox.url}/${mp.id}` })),
    });
    const marketplace = config.marketplaces.find((mp) => mp.id === MP)!;
    const client = createMiraklClient({ baseUrl: marketplace.baseUrl, apiKey: KEY, http: createHttpClient({ sleep: async () => undefined }) });
    const mappings = new MemoryMappingTable();
    const skus = new SkuMap(mappings, MP);
    for (const offer of sandbox.world.offers(MP)) await skus.set(offer.sku, `P-${offer.sku}`);
    const stock = new StaticAvailableToSell(new Map(sandbox.world.offers(MP).map((o) => [`P-${o.sku}`, 1_000_000])));
    let now = Date.now();
    const guard = createMarketplaceGuard(config.marketplaces, new InMemoryCallSlotStore(), { now: () => now });
    const deps = { config, mirakl: async () => client, mappings, guard, log: { info: () => undefined, warn: () => undefined } };
    const count = (operations: string[]) => {
      const byOperation: Record<string, number> = {};
      for (const r of sandbox.requests) if (r.operation && operations.includes(r.operation)) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1;
      return byOperation;
    };

    const acceptance = createAcceptanceConnector({
      ...deps,
      availableToSell: () => stock,
      exceptions: { record: async () => undefined },
    });
    const ids: string[] = [];
    for (let i = 0; i < orders; i++) {
      const order = sandbox.world.createOrder(MP, { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DB-KET-6001-SLV', quantity: 1 }] });
      ids.push(order.order_id);
      const event = orderFacts(order, undefined, { marketplace, component: 'bench' }).events.find((e) => e.detailType === 'Order Awaiting Acceptance')!;
      await acceptance.deliverOne(event);
    }
    const accepted = count(['OR21']);

    sandbox.requests.length = 0;
    const tracking = createTrackingConnector(deps);
    for (const [i, orderId] of ids.entries()) {
      sandbox.world.debit(MP, orderId);
      await tracking.deliverOne(
        businessEvent('Shipment Dispatched', {
          schemaVersion: 1,
          eventId: eventIds.shipmentDispatched(MP, orderId, 'S1'),
          marketplace: MP,
          occurredAt: new Date().toISOString(),
          orderId,
          shipmentId: 'S1',
          carrier: i % 2 === 0 ? 'Royal Mail' : 'DPD UK',
          trackingNumber: `TT${i}GB`,
          trackingUrl: null,
          lines: [{ lineId: `${orderId}-1`, quantity: 1 }],
        }),
      );
    }
    const dispatch = count(['OR23', 'OR24', 'SH21']);

    sandbox.requests.length = 0;
    const stockDeps = { ...deps, exceptions: { record: async () => undefined } };
    const stockConnector = createStockConnector(stockDeps);
    const offers = sandbox.world.offers(MP);
    for (let i = 0; i < orders; i++) {
      const offer = offers[i % offers.length]!;
      await stockConnector.deliverOne(
        businessEvent('Stock Changed', {
          schemaVersion: 1,
          eventId: eventIds.stockChanged(MP, `bench-${i}`),
          marketplace: MP,
          occurredAt: new Date(Date.now() + i).toISOString(),
          items: [{ productId: `P-${offer.sku}`, availableToSell: 10 + i }],
        }),
      );
    }
    now += 61_000;
    const scheduled = await runStockPush(MP, stockDeps);
    return {
      orders,
      acceptance: accepted,
      dispatch,
      stockChanges: orders,
      stockImports: count(['STO01']).STO01 ?? 0,
      linesInScheduledImport: scheduled.pushed?.lines ?? 0,
    };
  } finally {
    await sandbox.close();
  }
}

/** Human-readable lines for `npm run bench`. */
export function formatMiraklBench(result: MiraklBenchResult): string[] {
  const per1000 = (calls: Record<string, number>) =>
    `${((Object.values(calls).reduce((a, b) => a + b, 0) / result.orders) * 1_000).toFixed(0)} calls / 1,000 orders ${JSON.stringify(calls)}`;
  return [
    `mirakl acceptance: ${per1000(result.acceptance)}`,
    `mirakl dispatch:   ${per1000(result.dispatch)}`,
    `mirakl stock:      ${result.stockImports} STO01 import(s) for ${result.stockChanges} stock changes within a minute and the next run (${result.linesInScheduledImport} offer line(s) in the run's one file)`,
  ];
}
