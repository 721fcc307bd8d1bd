/**
 * SFCC test fixtures: a configuration pointing the `sfcc` block at a sandbox, the business events the connector
 * consumes (produced by the real normaliser, see klaviyoFixtures), a fixed SKU map and the sandbox's credentials.
 */
import { type Config, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { BusinessEvent } from '../../functions/shared/events';
import type { ProductLookup } from '../../functions/shared/sfcc/requests';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import { SFCC_SANDBOX_CREDENTIALS, SFCC_SANDBOX_ORGANIZATION, SFCC_SANDBOX_SITE } from '../../local/sandboxes/sfcc';
import { orderLifeEvents } from './klaviyoFixtures';

export const SFCC_SECRET = 'marketbridge/sfcc';

export function sfccConfig(baseUrl = 'http://127.0.0.1:4050', sfcc: Record<string, unknown> = {}): Config {
  return parseConfig({
    ...sandboxConfigInput,
    sfcc: {
      shortCode: 'kv7kzm78',
      organizationId: SFCC_SANDBOX_ORGANIZATION,
      siteId: SFCC_SANDBOX_SITE,
      instanceHost: 'zzxy-001.dx.commercecloud.salesforce.com',
      secretName: SFCC_SECRET,
      baseUrl,
      inventory: { listId: 'marketplace-inventory' },
      ...sfcc,
    },
    connectors: { 'sfcc-orders': { enabled: true, secretName: SFCC_SECRET } },
  });
}

/** Reads the sandbox's credentials as the connector reads its secret's fields. */
export async function sandboxSecret(field: string): Promise<string> {
  const value = (SFCC_SANDBOX_CREDENTIALS as Record<string, string>)[field];
  if (!value) throw new Error(`no field ${field}`);
  return value;
}

/** The events of one order's life that the sfcc-orders connector consumes, in business order. */
export function sfccOrderEvents(
  marketplace: 'debenhams' | 'decathlon',
  orderId: string,
  options: { lines?: number; backfill?: boolean } = {},
): BusinessEvent[] {
  const routed = new Set<string>(CONNECTOR_ROUTES['sfcc-orders']);
  return orderLifeEvents(marketplace, orderId, options).filter((event) => routed.has(event.detailType));
}

/** Offer SKU `SKU-n` → product `P-n`, except the SKUs listed as unmapped. */
export function fixedSkuMap(unmapped: readonly string[] = []): ProductLookup & { lookups: number } {
  const map = {
    lookups: 0,
    async productsFor(offerSkus: readonly string[]) {
      map.lookups += 1;
      return new Map(offerSkus.filter((sku) => !unmapped.includes(sku)).map((sku) => [sku, sku.replace(/^SKU-/, 'P-')]));
    },
  };
  return map;
}

export function productsOf(event: BusinessEvent): Map<string, string> {
  const lines = 'order' in event.detail ? event.detail.order.lines : [];
  return new Map(lines.flatMap((l) => (l.offerSku ? [[l.offerSku, l.offerSku.replace(/^SKU-/, 'P-')] as const] : [])));
}

/** The Order Confirmed a history load publishes for an order now in Mirakl state `state`. */
export function historyConfirmed(marketplace: 'debenhams' | 'decathlon', orderId: string, state: string): BusinessEvent<'Order Confirmed'> {
  const [confirmed] = sfccOrderEvents(marketplace, orderId, { backfill: true }) as [BusinessEvent<'Order Confirmed'>];
  return { ...confirmed, detail: { ...confirmed.detail, order: { ...confirmed.detail.order, state } } };
}
