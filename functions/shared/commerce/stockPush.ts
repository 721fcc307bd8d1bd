/**
 * The `mirakl-stock` connector and its scheduled run. `Stock Changed` events write SFCC's available-to-sell into a
 * ledger (partition `ats#{marketplace}` of the `mappings` table, newest reading wins); a run then pushes every
 * mapped offer whose quantity (ATS less buffer, never below zero) differs from the last push, all in ONE STO01
 * stock-only import, never OF24, and at most once a minute (the shared call-frequency guard). Outstanding imports
 * (partition `stock-import#{marketplace}`) are followed with STO02 and, when Mirakl has an error report, STO03,
 * whose lines become `stock.import-error` exceptions. A refused slot is not an error: the schedule comes back.
 */
import { type Config, type MarketplaceConfig, marketplaceById } from '../config';
import type { Connector } from '../connector/runtime';
import type { BusinessEvent } from '../events';
import type { ExceptionRecorder } from '../exceptions';
import type { CallFrequencyGuard } from '../mirakl/callFrequency';
import { type MappingTable, SkuMap } from './mappings';
import type { AvailableToSell, CommerceLog, MiraklClients } from './ports';
import { type StockLine, parseStockErrorReport, stockFile, stockLines } from './stock';

export const STOCK_COMPONENT = 'mirakl-stock';

const atsPk = (marketplace: string) => `ats#${marketplace}`;
const importPk = (marketplace: string) => `stock-import#${marketplace}`;

export interface StockDeps {
  config: Config;
  mirakl: MiraklClients;
  mappings: MappingTable;
  guard: CallFrequencyGuard;
  exceptions: ExceptionRecorder;
  log: CommerceLog;
  /** When given, scheduled runs refresh the ledger from SFCC for every mapped product (catches missed events). */
  availableToSell?: AvailableToSell;
  now?: () => Date;
}

/** Records SFCC readings; an older reading never overwrites a newer one. */
export async function recordAvailableToSell(
  mappings: MappingTable,
  marketplace: string,
  items: readonly { productId: string; availableToSell: number }[],
  at: string,
): Promise<void> {
  for (const item of items) {
    await mappings.put({ pk: atsPk(marketplace), sk: item.productId, ats: item.availableToSell, at }, { newerThanAt: true });
  }
}

export async function availableToSellLedger(mappings: MappingTable, marketplace: string): Promise<Map<string, number>> {
  const rows = await mappings.query(atsPk(marketplace));
  return new Map(rows.flatMap((row) => (typeof row.ats === 'number' ? [[row.sk, row.ats] as const] : [])));
}

/** Available-to-sell as SFCC last reported it through `Stock Changed`; unreported products are absent. */
export function ledgerAvailableToSell(mappings: MappingTable, marketplace: string): AvailableToSell {
  return {
    async read(productIds) {
      const rows = await mappings.batchGet(atsPk(marketplace), productIds);
      return new Map(rows.flatMap((row) => (typeof row.ats === 'number' ? [[row.sk, row.ats] as const] : [])));
    },
  };
}

export interface StockRunResult {
  /** Imports whose outcome is now known. */
  completed: { importId: string; status: string; errors: number }[];
  pushed?: { importId: string; lines: number };
  /** Why nothing was pushed although lines were waiting. */
  deferred?: string;
}

export async function runStockPush(marketplaceId: string, deps: StockDeps, options: { refresh?: boolean } = {}): Promise<StockRunResult> {
  const marketplace = marketplaceById(deps.config, marketplaceId);
  const now = deps.now ?? (() => new Date());
  const skuMap = new SkuMap(deps.mappings, marketplace.id);
  const result: StockRunResult = { completed: await followUpImports(marketplace, skuMap, deps) };

  const skus = await skuMap.all();
  if (options.refresh && deps.availableToSell) {
    const fresh = await deps.availableToSell.read([...new Set(skus.map((s) => s.productId))]);
    await recordAvailableToSell(deps.mappings, marketplace.id, [...fresh].map(([productId, availableToSell]) => ({ productId, availableToSell })), now().toISOString());
  }
  const lines = stockLines(skus, await availableToSellLedger(deps.mappings, marketplace.id), marketplace.stockBuffer);
  if (lines.length === 0) return result;
  const grant = await deps.guard.acquire(marketplace.id, 'STO01');
  if (!grant.granted) return { ...result, deferred: `STO01 was called less than a minute ago; ${lines.length} line(s) wait for the next run` };

  const importId = await (await deps.mirakl(marketplace.id)).importStock(stockFile(lines));
  await deps.mappings.put({ pk: importPk(marketplace.id), sk: importId, lines, at: now().toISOString() });
  await skuMap.recordPushed(lines);
  deps.log.info('stock import sent', { marketplace: marketplace.id, importId, lines: lines.length });
  return { ...result, pushed: { importId, lines: lines.length } };
}

async function followUpImports(marketplace: MarketplaceConfig, skuMap: SkuMap, deps: StockDeps) {
  const completed: StockRunResult['completed'] = [];
  for (const row of await deps.mappings.query(importPk(marketplace.id))) {
    const importId = row.sk;
    const lines = (row.lines ?? []) as StockLine[];
    if (!(await deps.guard.acquire(marketplace.id, 'STO02')).granted) break;
    const client = await deps.mirakl(marketplace.id);
    const status = await client.stockImportStatus(importId);
    if (status.status === 'WAITING' || status.status === 'RUNNING') continue;
    let errors = 0;
    if (status.status === 'COMPLETE' && status.has_error_report) {
      // The report is read once a minute at most; the import stays outstanding until it can be.
      if (!(await deps.guard.acquire(marketplace.id, 'STO03')).granted) continue;
      const report = parseStockErrorReport(await client.stockImportErrorReport(importId));
      errors = report.length;
      for (const line of report) {
        await deps.exceptions.record({
          type: 'stock.import-error',
          marketplace: marketplace.id,
          ref: line.offerSku || `import ${importId}`,
          reason: `Mirakl rejected the stock line${line.line === undefined ? '' : ` ${line.line}`} of import ${importId}: ${line.error}`,
          payloadRef: `stock-import:${importId}`,
          component: STOCK_COMPONENT,
        });
      }
    } else if (status.status !== 'COMPLETE') {
      // FAILED (or a status Mirakl added since): nothing was applied, so every line is pushed again next run.
      await skuMap.recordPushed(lines.map((line) => ({ offerSku: line.offerSku, quantity: undefined })));
      await deps.exceptions.record({
        type: 'stock.import-error',
        marketplace: marketplace.id,
        ref: `import ${importId}`,
        reason: `stock import ${importId} ended ${status.status}; its ${lines.length} line(s) are pushed again by the next run`,
        payloadRef: `stock-import:${importId}`,
        component: STOCK_COMPONENT,
      });
    }
    await deps.mappings.delete(importPk(marketplace.id), importId);
    completed.push({ importId, status: status.status, errors });
  }
  return completed;
}

export function createStockConnector(deps: StockDeps): Connector {
  async function onStockChanged(event: BusinessEvent<'Stock Changed'>): Promise<void> {
    const { marketplace, items, occurredAt } = event.detail;
    await recordAvailableToSell(deps.mappings, marketplace, items, occurredAt);
    const result = await runStockPush(marketplace, deps);
    if (result.deferred) deps.log.info('stock push deferred to the scheduled run', { marketplace, reason: result.deferred });
  }

  return {
    async deliverOne(event) {
      if (event.detailType !== 'Stock Changed') return;
      await onStockChanged(event);
    },
  };
}
