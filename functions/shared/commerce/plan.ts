/**
 * What `plan` prints for the Mirakl return path: for an order waiting for acceptance, the OR21 the
 * `mirakl-acceptance` connector would send or the exception it would record (unmapped SKUs, short stock).
 * Nothing when that connector is not enabled in the deployment.
 */
import type { Config } from '../config';
import type { BusinessEvent } from '../events';
import { planAcceptance } from './acceptanceConnector';
import type { SkuMap } from './mappings';
import { describeMiraklRequest } from './miraklRequests';
import type { AvailableToSell } from './ports';

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
