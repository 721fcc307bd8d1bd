/**
 * The acceptance decision (PRODUCT.md promise 7), pure: an order waiting for acceptance is accepted, all lines,
 * only when every line maps to an SFCC product and SFCC's available-to-sell, less the marketplace's buffer, covers
 * what the order wants of each product. Otherwise the problems are named (SKU, wanted, available) and the order is
 * left for a human, or refused when the marketplace's rule says so and stock alone is the problem.
 */
import type { MarketplaceConfig } from '../config';
import type { Order } from '../events';

export type AcceptanceProblem =
  | { type: 'sku.unmapped'; offerSku: string }
  | { type: 'stock.insufficient'; offerSku: string; productId: string; wanted: number; available: number };

export type AcceptanceDecision =
  | { action: 'accept'; lines: { id: string; accepted: true }[] }
  | { action: 'refuse'; lines: { id: string; accepted: false }[]; problems: AcceptanceProblem[] }
  | { action: 'leave'; problems: AcceptanceProblem[] };

/** Quantity we may promise: available-to-sell less the buffer, never below zero. */
export function sellable(availableToSell: number, buffer: number): number {
  return Math.max(0, Math.floor(availableToSell) - buffer);
}

/** Offer SKUs of the order's lines; a line without one can never be mapped. */
export function offerSkusOf(order: Order): string[] {
  return [...new Set(order.lines.map((line) => line.offerSku ?? ''))];
}

export function decideAcceptance(
  order: Order,
  marketplace: Pick<MarketplaceConfig, 'stockBuffer' | 'acceptance'>,
  productBySku: ReadonlyMap<string, string>,
  availableToSell: ReadonlyMap<string, number>,
): AcceptanceDecision {
  const unmapped: AcceptanceProblem[] = [];
  // Several lines (or several offer SKUs) may draw on one SFCC product: stock must cover their sum.
  const wanted = new Map<string, { quantity: number; offerSkus: Set<string> }>();
  for (const line of order.lines) {
    const sku = line.offerSku ?? '';
    const productId = productBySku.get(sku);
    if (productId === undefined) {
      if (!unmapped.some((p) => p.offerSku === sku)) unmapped.push({ type: 'sku.unmapped', offerSku: sku });
      continue;
    }
    const entry = wanted.get(productId) ?? { quantity: 0, offerSkus: new Set<string>() };
    entry.quantity += line.quantity;
    entry.offerSkus.add(sku);
    wanted.set(productId, entry);
  }
  const short: AcceptanceProblem[] = [];
  for (const [productId, { quantity, offerSkus }] of wanted) {
    const available = sellable(availableToSell.get(productId) ?? 0, marketplace.stockBuffer);
    if (quantity > available) {
      short.push({ type: 'stock.insufficient', offerSku: [...offerSkus].join('+'), productId, wanted: quantity, available });
    }
  }
  const problems = [...unmapped, ...short];
  if (problems.length === 0) {
    return { action: 'accept', lines: order.lines.map((line) => ({ id: line.lineId, accepted: true as const })) };
  }
  // An unmapped SKU needs a person (the product may well exist); only a clear stock shortage may be refused.
  if (unmapped.length === 0 && marketplace.acceptance.whenOutOfStock === 'refuse') {
    return { action: 'refuse', lines: order.lines.map((line) => ({ id: line.lineId, accepted: false as const })), problems };
  }
  return { action: 'leave', problems };
}

export function describeProblem(problem: AcceptanceProblem): string {
  if (problem.type === 'sku.unmapped') {
    return `offer SKU "${problem.offerSku}" has no SFCC product: map it (marketbridge mappings sku set) so the order can be accepted`;
  }
  return (
    `offer SKU "${problem.offerSku}" (SFCC product ${problem.productId}): order wants ${problem.wanted}, ` +
    `${problem.available} available to sell after the buffer`
  );
}

/** Orders still waiting whose deadline is closer than the margin (or past): they risk Mirakl's auto-refusal. */
export function deadlinesAtRisk(
  waiting: ReadonlyMap<string, string>,
  now: Date,
  marginHours: number,
): { orderId: string; deadline: string; hoursLeft: number }[] {
  const atRisk: { orderId: string; deadline: string; hoursLeft: number }[] = [];
  for (const [orderId, deadline] of waiting) {
    const hoursLeft = (Date.parse(deadline) - now.getTime()) / 3_600_000;
    if (hoursLeft < marginHours) atRisk.push({ orderId, deadline, hoursLeft: Math.round(hoursLeft * 10) / 10 });
  }
  return atRisk.sort((a, b) => a.hoursLeft - b.hoursLeft);
}
