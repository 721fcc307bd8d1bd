/**
 * What `plan` prints for the Mirakl return path: for an order waiting for acceptance, the OR21 the
 * `mirakl-acceptance` connector would send or the exception it would record (unmapped SKUs, short stock).
 * Nothing when that connector is not enabled in the deployment.
 */
import type { Config } from '../config';
import { parseCsvRecords } from './csv';
import type { BusinessEvent } from '../events';
import { planAcceptance } from './acceptanceConnector';
import type { SkuMap } from './mappings';
import { describeMiraklRequest } from './miraklRequests';
import { type AvailableToSell, StaticAvailableToSell } from './ports';

export const MIRAKL = 'mirakl';

export type MiraklPlanLine =
  | { kind: 'request'; connector: typeof MIRAKL; operation: string; method: string; path: string; body?: unknown }
  | { kind: 'exception'; type: string; marketplace: string; ref: string; message: string };

export async function miraklPlanLines(
  event: BusinessEvent,
  config: Config,
  skuMap: (marketplace: string) => SkuMap,
  stock: (marketplace: string) => AvailableToSell,
): Promise<MiraklPlanLine[]> {
  if (event.detailType !== 'Order Awaiting Acceptance' || !config.connectors['mirakl-acceptance']?.enabled) return [];
  const { marketplace, order } = event.detail;
  const plan = await planAcceptance(event.detail, config, skuMap(marketplace), stock(marketplace));
  const lines: MiraklPlanLine[] = plan.requests.map((request) => ({
    kind: 'request',
    connector: MIRAKL,
    operation: request.operation,
    ...describeMiraklRequest(request),
  }));
  if (plan.exception) {
    lines.push({ kind: 'exception', type: plan.exception.type, marketplace, ref: order.orderId, message: plan.exception.reason });
  }
  return lines;
}

/** `plan --stock FILE`: CSV with header `product_id,available_to_sell`, naming the first bad line. */
export function parsePlanStockCsv(text: string): AvailableToSell {
  const { header, records } = parseCsvRecords(text, ',');
  if (!header.includes('product_id') || !header.includes('available_to_sell')) {
    throw new Error('stock CSV needs the header product_id,available_to_sell');
  }
  const quantities = new Map<string, number>();
  records.forEach((record, i) => {
    const productId = (record.product_id ?? '').trim();
    const quantity = Number((record.available_to_sell ?? '').trim());
    if (!productId || !Number.isFinite(quantity) || quantity < 0) {
      throw new Error(`stock CSV line ${i + 2}: needs a product_id and a number ≥ 0`);
    }
    quantities.set(productId, quantity);
  });
  return new StaticAvailableToSell(quantities);
}

/** Without a stock file the dry run does not check stock: every mapped product counts as covered. */
export const STOCK_NOT_CHECKED: AvailableToSell = {
  read: async (productIds) => new Map(productIds.map((id) => [id, Number.POSITIVE_INFINITY])),
};
