/**
 * `marketbridge mappings …` and `marketbridge stock diff` over an in-memory mappings table and the Mirakl sandbox.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMappingTable, SkuMap } from '../../functions/shared/commerce/mappings';
import { StaticAvailableToSell } from '../../functions/shared/commerce/ports';
import { createMiraklClient } from '../../functions/shared/mirakl/client';
import type { Output } from '../../cli/io';
import { main } from '../../cli/main';
import { mappings } from '../../cli/mappings';
import { stock } from '../../cli/stock';
import { type MiraklSandbox, startMiraklSandbox } from '../../local/sandboxes/mirakl';

function capture(): Output & { lines: unknown[]; errors: string[] } {
  const lines: unknown[] = [];
  const errors: string[] = [];
  return { lines, errors, line: (v) => lines.push(v), error: (m) => errors.push(m) };
}

describe('marketbridge mappings', () => {
  const table = new MemoryMappingTable();
  const run = (args: string[], stdin = '') => {
    const out = capture();
    return mappings(args, out, Readable.from([stdin]), () => ({ mappings: table })).then((code) => ({ code, ...out }));
  };

  it('sets, imports and lists SKU mappings per marketplace', async () => {
    expect((await run(['sku', 'set', '--marketplace', 'debenhams', 'DB-1', 'P-1'])).code).toBe(0);
    const imported = await run(['sku', 'import', '--marketplace', 'debenhams'], 'offer_sku,product_id\nDB-2,P-2\nDB-3,P-3\n');
    expect(imported.errors).toEqual(['imported 2 SKU mapping(s) for debenhams']);
    const listed = await run(['sku', 'list', '--marketplace', 'debenhams']);
    expect(listed.lines).toEqual([
      { offerSku: 'DB-1', productId: 'P-1' },
      { offerSku: 'DB-2', productId: 'P-2' },
      { offerSku: 'DB-3', productId: 'P-3' },
    ]);
    expect((await run(['sku', 'list', '--marketplace', 'decathlon'])).lines).toEqual([]);
  });

  it('sets, imports and lists carrier mappings', async () => {
    await run(['carrier', 'set', '--marketplace', 'decathlon', 'La Poste Colis', 'COLISSIMO', '--standard-code', 'colissimo']);
    await run(['carrier', 'import', '--marketplace', 'decathlon'], 'carrier_name,carrier_code\nChrono 13,CHRONOPOST\n');
    const listed = await run(['carrier', 'list', '--marketplace', 'decathlon']);
    expect(listed.lines).toEqual([
      { name: 'Chrono 13', source: 'manual', code: 'CHRONOPOST' },
      { name: 'La Poste Colis', source: 'manual', code: 'COLISSIMO', standardCode: 'colissimo' },
    ]);
  });

  it('rejects bad usage and bad CSV with exit 2 and a message', async () => {
    const out = capture();
    expect(await main(['mappings', 'sku', 'remove', '--marketplace', 'debenhams'], out)).toBe(2);
    expect(out.errors[0]).toContain('usage: marketbridge mappings');
    await expect(run(['sku', 'import', '--marketplace', 'debenhams'], 'sku,id\nA,B\n')).rejects.toThrow(/offer_sku,product_id/);
    await expect(run(['sku', 'set', '--marketplace', 'nowhere', 'A', 'B'])).rejects.toThrow(/unknown marketplace "nowhere"/);
  });
});

describe('marketbridge stock diff', () => {
  let sandbox: MiraklSandbox;
  afterEach(() => sandbox?.close());

  it('lists offers whose Mirakl quantity differs from SFCC less the buffer, and exits 1', async () => {
    sandbox = await startMiraklSandbox({ port: 0, marketplaces: [{ id: 'debenhams', apiKey: 'k' }] });
    const table = new MemoryMappingTable();
    const offers = sandbox.world.offers('debenhams');
    const [first, second] = offers;
    const skus = new SkuMap(table, 'debenhams');
    await skus.set(first!.sku, 'P-1');
    await skus.set(second!.sku, 'P-2');
    const out = capture();
    const code = await stock(['diff', '--marketplace', 'debenhams'], out, undefined, () => ({
      mappings: table,
      // The second offer matches: SFCC ATS = Mirakl quantity + buffer (2).
      availableToSell: () => new StaticAvailableToSell(new Map([['P-1', 100], ['P-2', second!.quantity + 2]])),
      mirakl: async () => createMiraklClient({ baseUrl: `${sandbox.url}/debenhams`, apiKey: 'k' }),
    }));
    expect(code).toBe(1);
    expect(out.lines).toContainEqual({ offerSku: first!.sku, productId: 'P-1', expected: 98, mirakl: first!.quantity });
    // Every other sandbox offer is on Mirakl without a mapping.
    expect(out.lines).toHaveLength(1 + offers.length - 2);
    expect(out.lines.some((l) => (l as { offerSku: string }).offerSku === second!.sku)).toBe(false);
    expect(out.errors[0]).toMatch(/difference\(s\) over 2 mapped SKU\(s\)/);
  });
});
