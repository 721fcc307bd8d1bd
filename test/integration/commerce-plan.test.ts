/**
 * `marketbridge plan` with the acceptance connector enabled: an order waiting for acceptance prints the OR21 the
 * connector would send, or the exception it would record (unmapped SKU, short stock), with no network.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { plan } from '../../cli/plan';
import { sandboxConfigInput } from '../../functions/shared/config';
import { MiraklWorld } from '../../local/sandboxes/mirakl';

const dir = mkdtempSync(join(tmpdir(), 'commerce-plan-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const configFile = file('config.json', JSON.stringify({ ...sandboxConfigInput, connectors: { 'mirakl-acceptance': { enabled: true } } }));
const skuMap = file('skus.csv', 'offer_sku,product_id\nDB-DRS-1042-BLK-12,P-DRESS\nDB-KET-6001-SLV,P-KETTLE\n');
const stockFile = file('stock.csv', 'product_id,available_to_sell\nP-DRESS,10\nP-KETTLE,2\n');

function or11(lines: { offerSku: string; quantity: number }[][]) {
  const world = new MiraklWorld({ marketplaces: [{ id: 'debenhams', apiKey: 'k' }], autoAccept: false });
  return JSON.stringify({ orders: lines.map((l) => world.createOrder('debenhams', { state: 'WAITING_ACCEPTANCE', lines: l })), total_count: lines.length });
}

async function run(args: string[], input: string) {
  const lines: Record<string, unknown>[] = [];
  const errors: string[] = [];
  const code = await plan(args, { line: (v) => lines.push(v as Record<string, unknown>), error: (m) => errors.push(m) }, Readable.from([input]));
  return { code, lines, errors };
}

describe('plan: Mirakl acceptance', () => {
  it('prints OR21 for an order that maps and is in stock, and exceptions for the others', async () => {
    const input = or11([
      [{ offerSku: 'DB-DRS-1042-BLK-12', quantity: 2 }],
      [{ offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 }],
      [{ offerSku: 'DB-KET-6001-SLV', quantity: 1 }],
    ]);
    const { code, lines } = await run(['--config', configFile, '--marketplace', 'debenhams', '--sku-map', skuMap, '--stock', stockFile], input);
    expect(code).toBe(0);
    const mirakl = lines.filter((l) => l.connector === 'mirakl' || l.kind === 'exception');
    expect(mirakl).toHaveLength(3);
    expect(mirakl[0]).toMatchObject({ kind: 'request', connector: 'mirakl', operation: 'OR21', method: 'PUT' });
    // The path is the URL's: the sandbox mounts each marketplace under its id, a real operator at the root.
    expect(String(mirakl[0]?.path)).toMatch(/^\/debenhams\/api\/orders\/DEB-\d+-A\/accept$/);
    expect(mirakl[0]).toMatchObject({ operation: 'OR21', headers: { authorization: '***' } });
    expect(mirakl[0]?.body).toEqual({ order_lines: [{ id: expect.stringMatching(/-1$/), accepted: true }] });
    expect(mirakl[1]).toMatchObject({ kind: 'exception', type: 'sku.unmapped', marketplace: 'debenhams' });
    expect(String(mirakl[1]?.message)).toContain('UNMAPPED-DB-7781-TAN');
    // Kettle: 2 available, buffer 2 → nothing sellable.
    expect(mirakl[2]).toMatchObject({ kind: 'exception', type: 'stock.insufficient' });
    expect(String(mirakl[2]?.message)).toContain('wants 1, 0 available');
  });

  it('without --stock it says stock is not checked', async () => {
    const { lines, errors } = await run(['--config', configFile, '--marketplace', 'debenhams', '--sku-map', skuMap], or11([[{ offerSku: 'DB-KET-6001-SLV', quantity: 5 }]]));
    expect(errors).toContain('notice: no --stock file: acceptance plans do not check stock');
    expect(lines.some((l) => l.operation === 'OR21')).toBe(true);
  });

  it('prints nothing for Mirakl when the acceptance connector is not enabled', async () => {
    const { lines } = await run(['--marketplace', 'debenhams'], or11([[{ offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 }]]));
    expect(lines.filter((l) => l.connector === 'mirakl')).toEqual([]);
  });
});
