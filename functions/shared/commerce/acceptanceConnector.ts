/**
 * The `mirakl-acceptance` connector: each `Order Awaiting Acceptance` is decided by `decideAcceptance` and becomes
 * one OR21 (all lines accepted, or all refused under the out-of-stock rule), or an exception naming each unmapped
 * SKU or short product. A left order fails its record (it reaches the DLQ, to be redriven once mapped or
 * restocked) and stays on the deadline watch list until accepted or refused.
 */
import { type Config, marketplaceById } from '../config';
import { PermanentError } from '../connector/failures';
import type { Connector } from '../connector/runtime';
import type { BusinessEvent, DetailOf } from '../events';
import type { ExceptionRecorder, ExceptionType } from '../exceptions';
import { type AcceptanceProblem, decideAcceptance, describeProblem, offerSkusOf } from './acceptance';
import { type MappingTable, SkuMap } from './mappings';
import { isOrderStateConflict } from './miraklErrors';
import { type MiraklRequest, sendMiraklRequest } from './miraklRequests';
import type { AvailableToSell, CommerceLog, MiraklClients } from './ports';
import { AcceptanceWatchList } from './watchList';

export const ACCEPTANCE_COMPONENT = 'mirakl-acceptance';

export interface AcceptancePlan {
  requests: MiraklRequest[];
  /** The inbox entry when the order is not accepted (one per order: its reason lists every problem). */
  exception?: { type: ExceptionType; reason: string };
}

/** The OR21 to send, or the exception to raise; no side effects (shared by the connector and `plan`). */
export async function planAcceptance(
  detail: DetailOf<'Order Awaiting Acceptance'>,
  config: Config,
  skuMap: SkuMap,
  availableToSell: AvailableToSell,
): Promise<AcceptancePlan> {
  const marketplace = marketplaceById(config, detail.marketplace);
  if (marketplace.acceptance.mode === 'manual') return { requests: [] };
  const order = detail.order;
  const products = await skuMap.productsFor(offerSkusOf(order));
  const ats = await availableToSell.read([...new Set(products.values())]);
  const decision = decideAcceptance(order, marketplace, products, ats);
  if (decision.action === 'accept') return { requests: [{ operation: 'OR21', orderId: order.orderId, lines: decision.lines }] };
  const exception = exceptionFor(decision.problems, decision.action === 'refuse');
  if (decision.action === 'refuse') {
    return { requests: [{ operation: 'OR21', orderId: order.orderId, lines: decision.lines }], exception };
  }
  return { requests: [], exception };
}

function exceptionFor(problems: readonly AcceptanceProblem[], refused: boolean): { type: ExceptionType; reason: string } {
  // An unmapped SKU is the first thing to fix: the stock check cannot even run for it.
  const type: ExceptionType = problems.some((p) => p.type === 'sku.unmapped') ? 'sku.unmapped' : 'stock.insufficient';
  const outcome = refused ? 'order refused (acceptance.whenOutOfStock: refuse)' : 'order left waiting for acceptance';
  return { type, reason: `${problems.map(describeProblem).join('; ')}; ${outcome}` };
}

export interface AcceptanceConnectorDeps {
  config: Config;
  mirakl: MiraklClients;
  mappings: MappingTable;
  /** SFCC available-to-sell for a marketplace's orders. */
  availableToSell(marketplace: string): AvailableToSell;
  exceptions: ExceptionRecorder;
  log: CommerceLog;
}

export function createAcceptanceConnector(deps: AcceptanceConnectorDeps): Connector {
  const watch = new AcceptanceWatchList(deps.mappings);

  async function decide(event: BusinessEvent<'Order Awaiting Acceptance'>): Promise<void> {
    const { marketplace, order, acceptanceDeadline } = event.detail;
    // Watched from the start: if anything below fails for good, the deadline watch still sees the order.
    await watch.add(marketplace, order.orderId, acceptanceDeadline);
    const plan = await planAcceptance(event.detail, deps.config, new SkuMap(deps.mappings, marketplace), deps.availableToSell(marketplace));
    const [request] = plan.requests;
    if (!request) {
      if (!plan.exception) {
        deps.log.info('acceptance left to a person (acceptance.mode: manual)', { marketplace, orderId: order.orderId });
        return;
      }
      throw new PermanentError(plan.exception.reason, { exceptionType: plan.exception.type });
    }
    try {
      await sendMiraklRequest(await deps.mirakl(marketplace), request);
    } catch (error) {
      if (!isOrderStateConflict(error)) throw error;
      deps.log.info('order no longer waiting for acceptance; nothing to do', { marketplace, orderId: order.orderId });
    }
    await watch.remove(marketplace, order.orderId);
    if (plan.exception) {
      await deps.exceptions.record({
        ...plan.exception,
        marketplace,
        ref: order.orderId,
        payloadRef: event.id,
        component: ACCEPTANCE_COMPONENT,
      });
    }
  }

  return {
    async deliverOne(event) {
      if (event.detailType !== 'Order Awaiting Acceptance') return;
      await decide(event);
    },
  };
}
