/**
 * `marketbridge stock diff --marketplace ID`: compares the quantity Mirakl holds for each offer (OF21) with what
 * SFCC available-to-sell less the marketplace's buffer says it should be, and prints one JSON line per
 * difference (mapped SKUs Mirakl lacks and Mirakl offers without a mapping included); a summary goes to stderr.
 */
import { parseArgs } from 'node:util';
import { SkuMap } from '../functions/shared/commerce/mappings';
import { diffStock } from '../functions/shared/commerce/stock';
import { marketplaceById, resolveConfig } from '../functions/shared/config';
import { type CommerceCliDeps, awsCommerceCliDeps } from './commerceDeps';
import { type Output, UsageError } from './io';

export const STOCK_USAGE = 'usage: marketbridge stock diff [--config FILE] --marketplace ID   (exit 1 when quantities differ)';

export async function stock(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  depsFor: (config: ReturnType<typeof resolveConfig>) => CommerceCliDeps = awsCommerceCliDeps,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, marketplace: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'diff') throw new UsageError(STOCK_USAGE);
  if (!values.marketplace) throw new UsageError(`--marketplace is required\n${STOCK_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const marketplace = marketplaceById(config, values.marketplace);
  const deps = depsFor(config);

  const skus = await new SkuMap(deps.mappings, marketplace.id).all();
  const ats = await deps.availableToSell(marketplace.id).read([...new Set(skus.map((s) => s.productId))]);
  // OF21 is meant for a person looking at the shop's offers, which is what this command is.
  const offers = await (await deps.mirakl(marketplace.id)).offerQuantities();
  const differences = diffStock(skus, ats, marketplace.stockBuffer, new Map(offers.map((o) => [o.shopSku, o.quantity])));
  for (const difference of differences) out.line(difference);
  out.error(`${differences.length} difference(s) over ${skus.length} mapped SKU(s) and ${offers.length} Mirakl offer(s) (buffer ${marketplace.stockBuffer})`);
  return differences.length === 0 ? 0 : 1;
}
