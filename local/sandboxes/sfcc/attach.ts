/**
 * The SFCC sandbox in the local runtime: started when the configuration has an `sfcc` block, with the sandbox's
 * credentials stored under `sfcc.secretName` (the fields the connector reads) and the block pointed at it. Its
 * inventory list holds every product the Mirakl sandbox sells, except the offers it deliberately leaves unmapped
 * (`UNMAPPED-…`), so acceptance, stock and order intake have something real to read. Its warehouse (moved on by
 * `tick`) ships the orders created in it and changes stock, reporting both to the webhook as the brand's hooks would.
 */
import type { Config } from '../../../functions/shared/config';
import { profileFor } from '../mirakl/catalogue';
import { DEFAULT_SFCC_SANDBOX_PORT, SFCC_SANDBOX_CREDENTIALS, type SfccSandbox, startSfccSandbox } from './index';
import { SfccWarehouse, type WarehouseMarketplace, type WarehouseOptions, type WebhookTarget } from './warehouse';

export type AttachedSfccSandbox = SfccSandbox & { warehouse: SfccWarehouse; tick(): Promise<void>; stats(): Record<string, number> };

/** The SFCC product behind a Mirakl sandbox offer: the local SKU map maps each offer SKU to the same id. */
export function sandboxProductId(offerSku: string): string | undefined {
  return offerSku.startsWith('UNMAPPED-') ? undefined : offerSku;
}

export async function attachSfccSandbox(
  config: Config,
  secrets: { put(name: string, value: string): unknown },
  options: Pick<WarehouseOptions, 'miraklOrderState'> & { port?: number; seed?: number; webhook?: () => WebhookTarget | undefined } = {},
): Promise<{ config: Config; sandbox: AttachedSfccSandbox } | undefined> {
  const sfcc = config.sfcc;
  if (!sfcc) return undefined;
  const sandbox = await startSfccSandbox({
    port: options.port ?? DEFAULT_SFCC_SANDBOX_PORT,
    organizationId: sfcc.organizationId,
    siteIds: [sfcc.siteId],
  });
  secrets.put(sfcc.secretName, JSON.stringify(SFCC_SANDBOX_CREDENTIALS));
  const listId = sfcc.inventory?.listId ?? 'inventory';
  const marketplaces: WarehouseMarketplace[] = config.marketplaces.map((marketplace, index) => {
    const profile = profileFor({ id: marketplace.id, apiKey: '' }, index);
    const products: string[] = [];
    for (const offer of profile.offers) {
      const productId = sandboxProductId(offer.sku);
      if (!productId) continue;
      sandbox.store.setInventory(listId, productId, offer.quantity);
      products.push(productId);
    }
    return { id: marketplace.id, products, carriers: profile.carriers.map((carrier) => carrier.label) };
  });
  const warehouse = new SfccWarehouse({
    store: sandbox.store,
    siteId: sfcc.siteId,
    listId,
    attributes: sfcc.attributes,
    marketplaces,
    seed: options.seed ?? 1,
    now: () => new Date(),
    webhook: options.webhook ?? (() => undefined),
    ...(options.miraklOrderState ? { miraklOrderState: options.miraklOrderState } : {}),
  });
  return {
    sandbox: {
      ...sandbox,
      warehouse,
      tick: () => warehouse.tick(),
      stats: () => ({ orders: sandbox.store.orders.size, ...warehouse.stats }),
    },
    config: { ...config, sfcc: { ...sfcc, baseUrl: sandbox.url } },
  };
}
