/**
 * `marketbridge plan` on the SFCC side: with an `sfcc` block, a confirmed order prints its createOrders request
 * (products from `--sku-map`), refunds print their updates, and an order with an unmapped SKU prints a
 * sku.unmapped exception instead of a request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { plan } from '../../cli/plan';
import { rawOrder, updated, withLines } from '../support/miraklOrders';
import { sfccConfig } from '../support/sfccFixtures';

const dir = mkdtempSync(join(tmpdir(), 'marketbridge-sfcc-plan-'));
const configFile = join(dir, 'config.json');
writeFileSync(configFile, JSON.stringify(sfccConfig('https://kv7kzm78.api.commercecloud.salesforce.com')));
const skuMapFile = join(dir, 'skus.csv');
writeFileSync(skuMapFile, 'offer_sku,product_id\nSKU-1,P-1\nSKU-2,P-2\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], input: unknown) {
  const lines: Record<string, unknown>[] = [];
  const errors: string[] = [];
  const code = await plan(['--config', configFile, '--marketplace', 'debenhams', ...args], { line: (v) => lines.push(v as Record<string, unknown>), error: (m) => errors.push(m) }, Readable.from([JSON.stringify(input)]));
  return { code, lines, errors };
}

describe('plan with SFCC', () => {
  it('prints createOrders after the confirmed event, and the refund updates after the refund event', async () => {
    const order = rawOrder('PLS-A');
    const refunded = withLines(updated(order, '2026-11-22T09:00:00Z'), (_, i) =>
      i === 0
        ? { refunds: [{ id: 'r9', order_refund_id: 'or9', amount: 25, shipping_amount: 0, quantity: 1, reason_code: '19', refund_state: 'REFUNDED', commission_total_amount: 4.8, created_date: '2026-11-22T08:59:00Z' }] }
        : {},
    );
    const { lines } = await run(['--sku-map', skuMapFile], [{ orders: [order] }, { orders: [refunded] }]);
    expect(lines.map((l) => (l.kind === 'request' ? `request ${l.connector} ${l.method} ${String(l.path).split('?')[0]}` : `${l.kind} ${l.detailType}`))).toEqual([
      'event Order Confirmed',
      'request sfcc POST /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders',
      'event Order Refunded',
      'request sfcc PATCH /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders/debenhams-PLS-A',
      'request sfcc PUT /checkout/orders/v1/organizations/f_ecom_mkbr_s01/orders/debenhams-PLS-A/external-status',
    ]);
    expect(lines[1]?.body).toMatchObject({ orderNo: 'debenhams-PLS-A', channelType: 'marketplace', c_miraklNet: 40.4 });
  });

  it('prints sku.unmapped for an order whose SKU the map lacks', async () => {
    const order = withLines(rawOrder('PLU-A'), (_, i) => (i === 1 ? { offer_sku: 'SKU-404' } : {}));
    const { lines } = await run(['--sku-map', skuMapFile], { orders: [order] });
    expect(lines[1]).toEqual({ kind: 'exception', type: 'sku.unmapped', marketplace: 'debenhams', ref: 'PLU-A', message: expect.stringContaining('SKU-404') });
  });

  it('names a bad SKU map file', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'sku,product\nA,B\n');
    await expect(run(['--sku-map', bad], { orders: [] })).rejects.toThrow(/--sku-map/);
  });
});
