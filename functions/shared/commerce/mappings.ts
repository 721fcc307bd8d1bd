/**
 * The SKU map (marketplace offer SKU → SFCC product id) and the carrier map (warehouse/SFCC carrier name → Mirakl
 * carrier code) in the `mappings` table: partition `sku#{marketplace}` / `carrier#{marketplace}`, sort key the
 * offer SKU / the normalised carrier name. Instances cache what they read, so one per invocation (or per CLI run)
 * reads each row at most once.
 */
import type { MiraklCarrier } from '../mirakl/client';
import { parseCsvRecords } from './csv';
import type { MiraklCarrierRef } from './dispatch';
import type { SkuStock } from './stock';

export interface PutOptions {
  replaceSource?: string;
  newerThanAt?: boolean;
}

export interface MappingRow {
  pk: string;
  sk: string;
  [attribute: string]: unknown;
}

/** The table operations the maps need; DynamoDB in AWS (see ./dynamoMappings), in memory for tests and `plan`. */
export interface MappingTable {
  query(pk: string): Promise<MappingRow[]>;
  batchGet(pk: string, sks: readonly string[]): Promise<MappingRow[]>;
  /**
   * Writes the row; false when a condition keeps the existing row: `replaceSource`, an existing row's `source`
   * differs; `newerThanAt`, an existing row's `at` (ISO 8601) is later than the row's (out-of-order writes).
   */
  put(row: MappingRow, options?: PutOptions): Promise<boolean>;
  /** Sets attributes of an existing row; false when the row does not exist. */
  update(pk: string, sk: string, attributes: Record<string, unknown>): Promise<boolean>;
  delete(pk: string, sk: string): Promise<void>;
}

export class MemoryMappingTable implements MappingTable {
  private readonly rows = new Map<string, MappingRow>();
  private key = (pk: string, sk: string) => `${pk}\u0000${sk}`;

  async query(pk: string): Promise<MappingRow[]> {
    return [...this.rows.values()].filter((row) => row.pk === pk).map((row) => ({ ...row })).sort((a, b) => a.sk.localeCompare(b.sk));
  }

  async batchGet(pk: string, sks: readonly string[]): Promise<MappingRow[]> {
    return sks.flatMap((sk) => {
      const row = this.rows.get(this.key(pk, sk));
      return row ? [{ ...row }] : [];
    });
  }

  async put(row: MappingRow, options: PutOptions = {}): Promise<boolean> {
    const existing = this.rows.get(this.key(row.pk, row.sk));
    if (existing && options.replaceSource !== undefined && existing.source !== options.replaceSource) return false;
    if (existing && options.newerThanAt && String(existing.at) > String(row.at)) return false;
    this.rows.set(this.key(row.pk, row.sk), { ...row });
    return true;
  }

  async update(pk: string, sk: string, attributes: Record<string, unknown>): Promise<boolean> {
    const existing = this.rows.get(this.key(pk, sk));
    if (!existing) return false;
    this.rows.set(this.key(pk, sk), { ...existing, ...attributes });
    return true;
  }

  async delete(pk: string, sk: string): Promise<void> {
    this.rows.delete(this.key(pk, sk));
  }
}

const skuPk = (marketplace: string) => `sku#${marketplace}`;
const carrierPk = (marketplace: string) => `carrier#${marketplace}`;

export class SkuMap {
  private readonly cache = new Map<string, string | undefined>();

  constructor(
    private readonly table: MappingTable,
    readonly marketplace: string,
  ) {}

  /** SFCC product per offer SKU; unmapped SKUs are absent. */
  async productsFor(offerSkus: readonly string[]): Promise<Map<string, string>> {
    const missing = [...new Set(offerSkus)].filter((sku) => sku !== '' && !this.cache.has(sku));
    if (missing.length > 0) {
      const rows = await this.table.batchGet(skuPk(this.marketplace), missing);
      for (const sku of missing) this.cache.set(sku, undefined);
      for (const row of rows) if (typeof row.productId === 'string') this.cache.set(row.sk, row.productId);
    }
    const found = new Map<string, string>();
    for (const sku of offerSkus) {
      const productId = this.cache.get(sku);
      if (productId !== undefined) found.set(sku, productId);
    }
    return found;
  }

  async all(): Promise<SkuStock[]> {
    const rows = await this.table.query(skuPk(this.marketplace));
    return rows.flatMap((row) =>
      typeof row.productId === 'string'
        ? [{ offerSku: row.sk, productId: row.productId, ...(typeof row.pushedQuantity === 'number' ? { pushedQuantity: row.pushedQuantity } : {}) }]
        : [],
    );
  }

  /** Setting a mapping forgets what was pushed for the SKU, so the next stock run pushes it afresh. */
  async set(offerSku: string, productId: string): Promise<void> {
    if (!offerSku || !productId) throw new Error('offer SKU and product id must be non-empty');
    await this.table.put({ pk: skuPk(this.marketplace), sk: offerSku, productId, updatedAt: new Date().toISOString() });
    this.cache.set(offerSku, productId);
  }

  /** Remembers quantities Mirakl accepted; `undefined` forgets (a rejected line is pushed again next run). */
  async recordPushed(lines: readonly { offerSku: string; quantity: number | undefined }[]): Promise<void> {
    for (const line of lines) {
      await this.table.update(skuPk(this.marketplace), line.offerSku, { pushedQuantity: line.quantity ?? null });
    }
  }
}

/** Two-column mapping CSV (`from,to` header names given), naming the first bad line. */
export function parseMappingCsv<K extends string, V extends string>(
  text: string,
  what: string,
  [from, to]: readonly [K, V],
): Record<K | V, string>[] {
  const { header, records } = parseCsvRecords(text, ',');
  if (!header.includes(from) || !header.includes(to)) throw new Error(`${what} CSV needs the header ${from},${to}`);
  return records.map((record, i) => {
    const row = { [from]: (record[from] ?? '').trim(), [to]: (record[to] ?? '').trim() } as Record<K | V, string>;
    if (!row[from] || !row[to]) throw new Error(`${what} CSV line ${i + 2}: ${from} and ${to} must be non-empty`);
    return row;
  });
}

/** `offer_sku,product_id` rows. */
export function parseSkuMapCsv(text: string): { offerSku: string; productId: string }[] {
  return parseMappingCsv(text, 'SKU map', ['offer_sku', 'product_id'] as const).map((r) => ({ offerSku: r.offer_sku, productId: r.product_id }));
}

/** "Royal Mail", "ROYAL_MAIL" and "royal-mail" are one carrier: case, spaces and punctuation do not count. */
export function normaliseCarrier(name: string): string {
  return name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface CarrierMapping extends MiraklCarrierRef {
  name: string;
  source: 'sh21' | 'manual';
}

export class CarrierMap {
  private readonly cache = new Map<string, MiraklCarrierRef>();

  /** @param configured the marketplace's `carrierMap` from the configuration: name → Mirakl code, checked first. */
  constructor(
    private readonly table: MappingTable,
    readonly marketplace: string,
    private readonly configured: Readonly<Record<string, string>> = {},
  ) {}

  async resolve(name: string): Promise<MiraklCarrierRef | undefined> {
    const key = normaliseCarrier(name);
    if (!key) return undefined;
    const fromConfig = Object.entries(this.configured).find(([configuredName]) => normaliseCarrier(configuredName) === key);
    if (fromConfig) return { code: fromConfig[1] };
    const cached = this.cache.get(key);
    if (cached) return cached;
    // A miss is not kept: another record's SH21 read may seed the name a moment later.
    const [row] = await this.table.batchGet(carrierPk(this.marketplace), [key]);
    if (!row || typeof row.code !== 'string') return undefined;
    const ref = toRef(row);
    this.cache.set(key, ref);
    return ref;
  }

  async list(): Promise<CarrierMapping[]> {
    const rows = await this.table.query(carrierPk(this.marketplace));
    return rows.flatMap((row) =>
      typeof row.code === 'string'
        ? [{ name: String(row.name ?? row.sk), source: row.source === 'sh21' ? 'sh21' : 'manual', ...toRef(row) } as CarrierMapping]
        : [],
    );
  }

  /** A person's mapping; seeding never overwrites it. */
  async set(name: string, code: string, standardCode?: string): Promise<void> {
    const key = normaliseCarrier(name);
    if (!key || !code) throw new Error('carrier name and Mirakl code must be non-empty');
    await this.table.put(row(this.marketplace, key, name, code, standardCode, 'manual'));
    this.cache.set(key, { code, ...(standardCode ? { standardCode } : {}) });
  }

  /** SH21 seeding: each carrier is known by its code, label and standard code. Returns the rows written. */
  async seed(carriers: readonly MiraklCarrier[]): Promise<number> {
    let written = 0;
    for (const carrier of carriers) {
      const names = new Set([carrier.code, carrier.label, carrier.standard_code ?? ''].filter(Boolean));
      const keys = new Map([...names].map((name) => [normaliseCarrier(name), name]));
      for (const [key, name] of keys) {
        if (!key) continue;
        const put = await this.table.put(row(this.marketplace, key, name, carrier.code, carrier.standard_code, 'sh21'), {
          replaceSource: 'sh21',
        });
        if (put) {
          written += 1;
          this.cache.delete(key);
        }
      }
    }
    return written;
  }
}

function toRef(row: MappingRow): MiraklCarrierRef {
  return { code: String(row.code), ...(typeof row.standardCode === 'string' ? { standardCode: row.standardCode } : {}) };
}

function row(marketplace: string, key: string, name: string, code: string, standardCode: string | undefined, source: CarrierMapping['source']): MappingRow {
  return {
    pk: carrierPk(marketplace),
    sk: key,
    name,
    code,
    ...(standardCode ? { standardCode } : {}),
    source,
    updatedAt: new Date().toISOString(),
  };
}

