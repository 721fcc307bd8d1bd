/**
 * Orders waiting for acceptance that MarketBridge has not accepted yet, with their deadlines, for the scheduled
 * deadline watch. Kept in the `mappings` table (partition `acceptance-watch#{marketplace}`, sort key the order id):
 * an order is added before OR21 is tried and removed once accepted or refused, so one that fails, waits for a
 * person or sits in a DLQ stays watched.
 */
import type { MappingTable } from './mappings';

const pk = (marketplace: string) => `acceptance-watch#${marketplace}`;

export class AcceptanceWatchList {
  constructor(private readonly table: MappingTable) {}

  async add(marketplace: string, orderId: string, deadline: string): Promise<void> {
    await this.table.put({ pk: pk(marketplace), sk: orderId, deadline });
  }

  async remove(marketplace: string, orderId: string): Promise<void> {
    await this.table.delete(pk(marketplace), orderId);
  }

  /** Order id → deadline (ISO 8601). */
  async list(marketplace: string): Promise<Map<string, string>> {
    const rows = await this.table.query(pk(marketplace));
    return new Map(rows.flatMap((row) => (typeof row.deadline === 'string' ? [[row.sk, row.deadline] as const] : [])));
  }
}
