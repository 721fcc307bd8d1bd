/**
 * Stock push (PRODUCT.md promise 8), pure: SFCC available-to-sell less the marketplace buffer (never below zero)
 * becomes one STO01 stock-only file with only the offers whose quantity changed since the last push; STO03's error
 * report is read back line by line; and Mirakl's offer quantities are compared with what SFCC says they should be.
 */
import { sellable } from './acceptance';
import { formatCsv, parseCsvRecords } from './csv';

/** STO01's documented columns; no warehouse code means the quantity is the offer's global one. */
export const STOCK_FILE_HEADER = ['offer-sku', 'quantity', 'warehouse-code', 'update-delete'] as const;
export const STOCK_FILE_DELIMITER = ';';

export interface SkuStock {
  offerSku: string;
  productId: string;
  /** What the last accepted import set; undefined when never pushed (or the push was rejected). */
  pushedQuantity?: number;
}

export interface StockLine {
  offerSku: string;
  quantity: number;
}

/** The lines to push: mapped offers whose product's ATS is known and whose quantity differs from the last push. */
export function stockLines(
  skus: readonly SkuStock[],
  availableToSell: ReadonlyMap<string, number>,
  buffer: number,
): StockLine[] {
  const lines: StockLine[] = [];
  for (const sku of skus) {
    const ats = availableToSell.get(sku.productId);
    if (ats === undefined) continue;
    const quantity = sellable(ats, buffer);
    if (quantity !== sku.pushedQuantity) lines.push({ offerSku: sku.offerSku, quantity });
  }
  return lines.sort((a, b) => a.offerSku.localeCompare(b.offerSku));
}

export function stockFile(lines: readonly StockLine[]): string {
  return formatCsv(
    [STOCK_FILE_HEADER, ...lines.map((line) => [line.offerSku, String(line.quantity), '', 'update'])],
    STOCK_FILE_DELIMITER,
  );
}

export interface StockLineError {
  /** Line number in the imported file, as Mirakl reports it. */
  line: number | undefined;
  offerSku: string;
  error: string;
}

/** STO03: "The first column contains the line number in error. The second column contains the error reason." */
export function parseStockErrorReport(csv: string): StockLineError[] {
  const { header, records } = parseCsvRecords(csv, STOCK_FILE_DELIMITER);
  const [lineColumn = '', errorColumn = ''] = header;
  return records.map((record) => {
    const line = Number(record[lineColumn]);
    return {
      line: Number.isInteger(line) ? line : undefined,
      offerSku: record['offer-sku'] ?? '',
      error: record[errorColumn] ?? '',
    };
  });
}

export interface StockDifference {
  offerSku: string;
  productId?: string;
  /** What Mirakl should show (ATS less buffer); undefined when the SKU is not mapped or SFCC does not know it. */
  expected?: number;
  /** What Mirakl shows; undefined when the offer is not on Mirakl. */
  mirakl?: number;
}

/** Offers whose Mirakl quantity differs from SFCC's, plus mapped SKUs Mirakl lacks and offers we cannot map. */
export function diffStock(
  skus: readonly SkuStock[],
  availableToSell: ReadonlyMap<string, number>,
  buffer: number,
  miraklQuantities: ReadonlyMap<string, number>,
): StockDifference[] {
  const differences: StockDifference[] = [];
  const mapped = new Set<string>();
  for (const sku of skus) {
    mapped.add(sku.offerSku);
    const ats = availableToSell.get(sku.productId);
    const expected = ats === undefined ? undefined : sellable(ats, buffer);
    const mirakl = miraklQuantities.get(sku.offerSku);
    if (expected !== mirakl) differences.push({ offerSku: sku.offerSku, productId: sku.productId, expected, mirakl });
  }
  for (const [offerSku, mirakl] of miraklQuantities) {
    if (!mapped.has(offerSku)) differences.push({ offerSku, mirakl });
  }
  return differences.sort((a, b) => a.offerSku.localeCompare(b.offerSku));
}
