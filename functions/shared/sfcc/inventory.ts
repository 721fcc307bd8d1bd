/**
 * SFCC available-to-sell, the source of truth for acceptance and stock (PRODUCT.md promises 7 and 8).
 *
 * - `inventory.source: "ocapi"` (B2C inventory lists): OCAPI Data API `product_inventory_records` of the configured
 *   list, field `ats` (allocation + pre-order/back-order allocation − turnover). A few products are read one by one;
 *   more are read by paging the whole list (200 per page), whichever costs fewer calls.
 * - `inventory.source: "oci"` (the site runs Omnichannel Inventory, where inventory records are read-only): OCI
 *   Inventory Availability `get-availability` for the configured location group, field `ato` (available to order),
 *   100 SKUs per call. The OCI payload shape follows Salesforce's integrations, not a vendor OpenAPI document
 *   (none was available): check it against the Inventory Availability reference before switching a site to OCI.
 *
 * A product with no record has nothing to sell (0). Both use the Account Manager token.
 */
import * as z from 'zod';
import type { SfccConfig } from '../config';
import { HttpError, type HttpClient } from '../http';
import { SfccTokens, sfccHosts } from './auth';
import { withToken } from './client';
import { InventoryRecordSchema, InventoryRecordsSchema, OcapiFaultSchema } from './scapi';

export interface AvailableToSellReader {
  /** Available-to-sell per SFCC product id; every requested id is in the result. */
  read(productIds: readonly string[]): Promise<Map<string, number>>;
}

/** Up to this many products are read one by one; more are read by listing the inventory list. */
export const DIRECT_READ_MAX = 20;
export const LIST_PAGE_SIZE = 200;
export const OCI_SKUS_PER_CALL = 100;
const PARALLEL_READS = 5;

const OciAvailabilitySchema = z
  .object({
    groups: z
      .array(z.object({ records: z.array(z.object({ sku: z.string(), ato: z.number() }).loose()).default([]) }).loose())
      .default([]),
  })
  .loose();

function faultType(error: HttpError): string | undefined {
  try {
    return OcapiFaultSchema.safeParse(JSON.parse(error.bodySnippet ?? '')).data?.fault.type;
  } catch {
    return undefined;
  }
}

export interface AvailableToSellDeps {
  sfcc: SfccConfig;
  http: HttpClient;
  secret(field: string): Promise<string>;
  /** Share the tokens of another SFCC client in the same Lambda. */
  tokens?: SfccTokens;
}

export function createAvailableToSellReader(deps: AvailableToSellDeps): AvailableToSellReader {
  const { sfcc, http } = deps;
  const inventory = sfcc.inventory;
  if (!inventory) throw new Error('sfcc.inventory is not configured: no inventory list to read available-to-sell from');
  const tokens = deps.tokens ?? new SfccTokens({ sfcc, http, secret: deps.secret });
  const hosts = sfccHosts(sfcc);
  const { listId, source } = inventory;
  const listUrl = `${hosts.ocapi}/inventory_lists/${encodeURIComponent(listId)}/product_inventory_records`;

  async function readOne(productId: string): Promise<number> {
    try {
      const response = await withToken(http, tokens, 'am', {
        operation: 'sfcc.getInventoryRecord',
        method: 'GET',
        url: `${listUrl}/${encodeURIComponent(productId)}`,
      });
      return InventoryRecordSchema.parse(response.json).ats ?? 0;
    } catch (error) {
      // The product is not stocked in this list; a missing list (InventoryListNotFoundException) stays an error.
      if (error instanceof HttpError && error.status === 404 && faultType(error) === 'ProductInventoryRecordNotFoundException') return 0;
      throw error;
    }
  }

  async function readDirect(ids: readonly string[], into: Map<string, number>): Promise<void> {
    for (let i = 0; i < ids.length; i += PARALLEL_READS) {
      const chunk = ids.slice(i, i + PARALLEL_READS);
      const values = await Promise.all(chunk.map(readOne));
      chunk.forEach((id, j) => into.set(id, values[j] as number));
    }
  }

  async function readList(wanted: ReadonlySet<string>, into: Map<string, number>): Promise<void> {
    for (let start = 0; ; start += LIST_PAGE_SIZE) {
      const response = await withToken(http, tokens, 'am', {
        operation: 'sfcc.listInventoryRecords',
        method: 'GET',
        url: listUrl,
        query: { start, count: LIST_PAGE_SIZE },
      });
      const page = InventoryRecordsSchema.parse(response.json);
      for (const record of page.data ?? []) {
        if (wanted.has(record.product_id)) into.set(record.product_id, record.ats ?? 0);
      }
      if (page.count === 0 || start + page.count >= page.total) return;
    }
  }

  async function readOci(ids: readonly string[], into: Map<string, number>): Promise<void> {
    for (let i = 0; i < ids.length; i += OCI_SKUS_PER_CALL) {
      const response = await withToken(http, tokens, 'am', {
        operation: 'sfcc.ociGetAvailability',
        method: 'POST',
        url: `${hosts.oci}/availability-records/actions/get-availability`,
        json: { skus: ids.slice(i, i + OCI_SKUS_PER_CALL), groups: [listId] },
      });
      for (const group of OciAvailabilitySchema.parse(response.json).groups) {
        for (const record of group.records) into.set(record.sku, Math.max(0, record.ato));
      }
    }
  }

  return {
    async read(productIds) {
      const ids = [...new Set(productIds)];
      const result = new Map<string, number>();
      if (ids.length === 0) return result;
      if (source === 'oci') await readOci(ids, result);
      else if (ids.length <= DIRECT_READ_MAX) await readDirect(ids, result);
      else await readList(new Set(ids), result);
      for (const id of ids) if (!result.has(id)) result.set(id, 0);
      return result;
    },
  };
}
