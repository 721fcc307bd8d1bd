/**
 * What the commerce loop needs from outside Mirakl, as small ports: SFCC available-to-sell (the SFCC side
 * implements it over OCAPI `product_inventory_records` or OCI), the Mirakl client per marketplace, and the log.
 */
import type { MiraklClient } from '../mirakl/client';

/** SFCC available-to-sell per product id; products SFCC does not know are absent. */
export interface AvailableToSell {
  read(productIds: readonly string[]): Promise<Map<string, number>>;
}

/** The Mirakl client of a marketplace, built with its API key on first use. */
export type MiraklClients = (marketplace: string) => Promise<MiraklClient>;

export interface CommerceLog {
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
}

/** A fixed table of quantities: tests and `plan --stock FILE`. */
export class StaticAvailableToSell implements AvailableToSell {
  constructor(private readonly quantities: ReadonlyMap<string, number>) {}

  async read(productIds: readonly string[]): Promise<Map<string, number>> {
    return new Map(productIds.flatMap((id) => (this.quantities.has(id) ? [[id, this.quantities.get(id) as number] as const] : [])));
  }
}
