/**
 * What `plan` prints for the Mirakl return path: for an order waiting for acceptance, the OR21 the
 * `mirakl-acceptance` connector would send or the exception it would record (unmapped SKUs, short stock).
 * Nothing when that connector is not enabled in the deployment.
 */
import { type Config, marketplaceById } from '../config';
import { exceptionLine, type PlanLine, requestLine } from '../connector/plannedRequest';
import { parseCsvRecords } from './csv';
import type { BusinessEvent } from '../events';
import { planAcceptance } from './acceptanceConnector';
import type { SkuMap } from './mappings';
import { describeMiraklRequest } from './miraklRequests';
import { type AvailableToSell, StaticAvailableToSell } from './ports';

export const MIRAKL = 'mirakl';


export async function miraklPlanLines(
  event: BusinessEvent,
  config: Config,
  skuMap: (marketplace: string) => SkuMap,
  stock: (marketplace: string) => AvailableToSell,
): Promise<PlanLine[]> {
  if (event.detailType !== 'Order Awaiting Acceptance' || !config.connectors['mirakl-acceptance']?.enabled) return [];
  const { marketplace, order } = event.detail;
  const plan = await planAcceptance(event.detail, config, skuMap(marketplace), stock(marketplace));
  // The shop API key travels bare in Authorization (Mirakl's convention); masked like every other secret.
  const base = marketplaceById(config, marketplace).baseUrl.replace(/\/+$/, '');
  const lines = plan.requests.map((request) => {
    const { method, path, body } = describeMiraklRequest(request);
    const planned = { connector: MIRAKL, method, url: `${base}${path}`, headers: { authorization: '***', accept: 'application/json' }, body };
    return requestLine(planned, request.operation);
  });
  if (plan.exception) lines.push(exceptionLine({ ...plan.exception, marketplace, ref: order.orderId }));
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
