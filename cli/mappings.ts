/**
 * `marketbridge mappings sku|carrier list|set|import --marketplace ID`: the SKU map (offer SKU → SFCC product) and
 * the carrier map (warehouse/SFCC carrier name → Mirakl carrier code) in the deployment's `mappings` table.
 * `list` prints JSON lines; `import` reads CSV (`offer_sku,product_id` / `carrier_name,carrier_code`).
 */
import { parseArgs } from 'node:util';
import { CarrierMap, SkuMap, parseMappingCsv, parseSkuMapCsv } from '../functions/shared/commerce/mappings';
import { marketplaceById, resolveConfig } from '../functions/shared/config';
import { type CommerceCliDeps, awsCommerceCliDeps } from './commerceDeps';
import { type Output, readInput, UsageError } from './io';

export const MAPPINGS_USAGE = `usage: marketbridge mappings sku|carrier list|set|import [--config FILE] --marketplace ID …
  mappings sku list                          every offer SKU and its SFCC product
  mappings sku set OFFER_SKU PRODUCT_ID
  mappings sku import [FILE]                 CSV with header offer_sku,product_id (FILE or stdin)
  mappings carrier list                      every carrier name and its Mirakl code (SH21-seeded or manual)
  mappings carrier set NAME CODE [--standard-code CODE]
  mappings carrier import [FILE]             CSV with header carrier_name,carrier_code`;

export async function mappings(
  args: string[],
  out: Output,
  stdin?: NodeJS.ReadableStream,
  depsFor: (config: ReturnType<typeof resolveConfig>) => Pick<CommerceCliDeps, 'mappings'> = awsCommerceCliDeps,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, marketplace: { type: 'string' }, 'standard-code': { type: 'string' } },
    allowPositionals: true,
  });
  const [kind, action, ...rest] = positionals;
  if ((kind !== 'sku' && kind !== 'carrier') || !['list', 'set', 'import'].includes(action ?? '')) {
    throw new UsageError(MAPPINGS_USAGE);
  }
  if (!values.marketplace) throw new UsageError(`--marketplace is required\n${MAPPINGS_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const marketplace = marketplaceById(config, values.marketplace);
  const { mappings: table } = depsFor(config);

  if (kind === 'sku') {
    const map = new SkuMap(table, marketplace.id);
    if (action === 'list') for (const sku of await map.all()) out.line(sku);
    if (action === 'set') {
      const [offerSku, productId] = rest;
      if (!offerSku || !productId || rest.length > 2) throw new UsageError(`expected OFFER_SKU PRODUCT_ID\n${MAPPINGS_USAGE}`);
      await map.set(offerSku, productId);
      out.line({ offerSku, productId });
    }
    if (action === 'import') {
      let rows: { offerSku: string; productId: string }[];
      try {
        rows = parseSkuMapCsv(await readInput(rest[0], stdin));
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      for (const row of rows) await map.set(row.offerSku, row.productId);
      out.error(`imported ${rows.length} SKU mapping(s) for ${marketplace.id}`);
    }
    return 0;
  }

  const carriers = new CarrierMap(table, marketplace.id, marketplace.carrierMap);
  if (action === 'list') for (const carrier of await carriers.list()) out.line(carrier);
  if (action === 'set') {
    const [name, code] = rest;
    if (!name || !code || rest.length > 2) throw new UsageError(`expected NAME CODE\n${MAPPINGS_USAGE}`);
    await carriers.set(name, code, values['standard-code']);
    out.line({ name, code, ...(values['standard-code'] ? { standardCode: values['standard-code'] } : {}) });
  }
  if (action === 'import') {
    let rows: { carrier_name: string; carrier_code: string }[];
    try {
      rows = parseMappingCsv(await readInput(rest[0], stdin), 'carrier', ['carrier_name', 'carrier_code'] as const);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    for (const row of rows) await carriers.set(row.carrier_name, row.carrier_code);
    out.error(`imported ${rows.length} carrier mapping(s) for ${marketplace.id}`);
  }
  return 0;
}
