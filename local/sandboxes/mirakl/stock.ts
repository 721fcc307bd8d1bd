/**
 * The sandbox's stock imports (STO01–STO03). An import moves WAITING → RUNNING → COMPLETE with the world clock
 * (a few seconds each, as on a quiet Mirakl instance) and applies its good lines to the offers when it completes.
 * A line is in error when its SKU is not one of the shop's offers or its quantity is not a whole number ≥ 0; the
 * error report repeats such lines after their line number and reason, as STO03 documents.
 */
import { formatCsv, parseCsvRecords } from '../../../functions/shared/commerce/csv';
import type { MiraklWorld } from './world';

const STEP_MS = 5_000;
const HEADER = ['offer-sku', 'quantity', 'warehouse-code', 'update-delete'];

export class StockFileError extends Error {}

interface StockImport {
  id: string;
  marketplace: string;
  createdAt: Date;
  rows: Record<string, string>[];
  errors: { line: number; reason: string; row: Record<string, string> }[];
  applied: boolean;
}

export interface StockImportStatusBody {
  import_id: string;
  shop_id: number;
  date_created: string;
  status: 'WAITING' | 'RUNNING' | 'COMPLETE';
  has_error_report: boolean;
  lines_in_success?: number;
  lines_in_error?: number;
}

export class StockImports {
  private readonly imports = new Map<string, StockImport>();
  private next = 1_000;

  constructor(private readonly world: MiraklWorld) {}

  /** STO01: validates the file's header (the whole file is refused), keeps line errors for the report. */
  create(marketplace: string, csv: string): string {
    const { header, records } = parseCsvRecords(csv, ';');
    if (!header.includes('offer-sku') || !header.includes('quantity')) {
      throw new StockFileError('the stock file needs the columns "offer-sku" and "quantity"');
    }
    const skus = new Set(this.world.offers(marketplace).map((o) => o.sku));
    const errors: StockImport['errors'] = [];
    records.forEach((row, i) => {
      const line = i + 2;
      const quantity = row.quantity ?? '';
      if (!skus.has(row['offer-sku'] ?? '')) errors.push({ line, reason: 'The offer does not exist', row });
      else if (!/^\d+$/.test(quantity)) errors.push({ line, reason: `The quantity "${quantity}" is not a positive integer`, row });
    });
    this.next += 1;
    const id = String(this.next);
    this.imports.set(id, { id, marketplace, createdAt: this.world.now(), rows: records, errors, applied: false });
    return id;
  }

  /** STO02; undefined for an id this shop never created. */
  status(marketplace: string, id: string): StockImportStatusBody | undefined {
    const entry = this.find(marketplace, id);
    if (!entry) return undefined;
    const status = this.stage(entry);
    const done = status === 'COMPLETE';
    return {
      import_id: id,
      shop_id: this.world.marketplace(marketplace).shopId,
      date_created: entry.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      status,
      has_error_report: done && entry.errors.length > 0,
      ...(done ? { lines_in_success: entry.rows.length - entry.errors.length, lines_in_error: entry.errors.length } : {}),
    };
  }

  /** STO03; undefined when the import is unknown, not complete, or has no error. */
  errorReport(marketplace: string, id: string): string | undefined {
    const entry = this.find(marketplace, id);
    if (!entry || this.stage(entry) !== 'COMPLETE' || entry.errors.length === 0) return undefined;
    return formatCsv(
      [
        ['line-number', 'error-message', ...HEADER],
        ...entry.errors.map((e) => [String(e.line), e.reason, ...HEADER.map((column) => e.row[column] ?? '')]),
      ],
      ';',
    );
  }

  /** Completes every import whose time has come (reads of offers must see applied quantities). */
  settle(): void {
    for (const entry of this.imports.values()) this.stage(entry);
  }

  /** Imports received and their lines, per marketplace (counts only: what the local summary shows). */
  totals(): Record<string, { imports: number; lines: number; linesInError: number }> {
    const totals: Record<string, { imports: number; lines: number; linesInError: number }> = {};
    for (const entry of this.imports.values()) {
      const total = (totals[entry.marketplace] ??= { imports: 0, lines: 0, linesInError: 0 });
      total.imports += 1;
      total.lines += entry.rows.length;
      total.linesInError += entry.errors.length;
    }
    return totals;
  }

  private find(marketplace: string, id: string): StockImport | undefined {
    const entry = this.imports.get(id);
    return entry?.marketplace === marketplace ? entry : undefined;
  }

  private stage(entry: StockImport): StockImportStatusBody['status'] {
    const elapsed = this.world.now().getTime() - entry.createdAt.getTime();
    if (elapsed < STEP_MS) return 'WAITING';
    if (elapsed < 2 * STEP_MS) return 'RUNNING';
    if (!entry.applied) {
      entry.applied = true;
      const bad = new Set(entry.errors.map((e) => e.row));
      for (const row of entry.rows) {
        if (!bad.has(row)) this.world.setOfferQuantity(entry.marketplace, row['offer-sku'] ?? '', Number(row.quantity));
      }
    }
    return 'COMPLETE';
  }
}
