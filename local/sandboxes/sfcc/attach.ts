/**
 * The SFCC sandbox in the local runtime: started when the configuration has an `sfcc` block, with the sandbox's
 * credentials stored under `sfcc.secretName` (the fields the connector reads) and the block pointed at it. Its
 * inventory list holds every product the Mirakl sandbox sells, except the offers it deliberately leaves unmapped
 * (`UNMAPPED-…`), so acceptance, stock and order intake have something real to read.
 */
import type { Config } from '../../../functions/shared/config';
import { profileFor } from '../mirakl/catalogue';
import { DEFAULT_SFCC_SANDBOX_PORT, SFCC_SANDBOX_CREDENTIALS, type SfccSandbox, startSfccSandbox } from './index';

/** The SFCC product behind a Mirakl sandbox offer: the local SKU map maps each offer SKU to the same id. */
export function sandboxProductId(offerSku: string): string | undefined {
  return offerSku.startsWith('UNMAPPED-') ? undefined : offerSku;
}

export async function attachSfccSandbox(
  config: Config,
  secrets: { put(name: string, value: string): unknown },
  options: { port?: number } = {},
): Promise<{ config: Config; sandbox: SfccSandbox } | undefined> {
  const sfcc = config.sfcc;
  if (!sfcc) return undefined;
  const sandbox = await startSfccSandbox({
    port: options.port ?? DEFAULT_SFCC_SANDBOX_PORT,
    organizationId: sfcc.organizationId,
    siteIds: [sfcc.siteId],
  });
  secrets.put(sfcc.secretName, JSON.stringify(SFCC_SANDBOX_CREDENTIALS));
  const listId = sfcc.inventory?.listId ?? 'inventory';
  config.marketplaces.forEach((marketplace, index) => {
    for (const offer of profileFor({ id: marketplace.id, apiKey: '' }, index).offers) {
      const productId = sandboxProductId(offer.sku);
      if (productId) sandbox.store.setInventory(listId, productId, offer.quantity);
    }
  });
  return { sandbox, config: { ...config, sfcc: { ...sfcc, baseUrl: sandbox.url } } };
}
