/**
 * Available-to-sell from SFCC: OCAPI inventory records one by one for a few products, the paged list for many,
 * 0 for products without a record; the OCI switch reads Omnichannel Inventory instead.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../functions/shared/http';
import { DIRECT_READ_MAX, createAvailableToSellReader } from '../../functions/shared/sfcc/inventory';
import { type SfccSandbox, startSfccSandbox } from '../../local/sandboxes/sfcc';
import { fakeFetch, jsonResponse } from '../support/fakeFetch';
import { sandboxSecret, sfccConfig } from '../support/sfccFixtures';

let sandbox: SfccSandbox;
beforeEach(async () => {
  sandbox = await startSfccSandbox();
  for (let i = 0; i < 450; i++) sandbox.store.setInventory('marketplace-inventory', `P-${i}`, i, { turnover: i % 3 });
});
afterEach(async () => {
  await sandbox.close();
});

function reader() {
  const config = sfccConfig(sandbox.url);
  const http = createHttpClient({ sleep: async () => undefined });
  return createAvailableToSellReader({ sfcc: config.sfcc!, http, secret: sandboxSecret });
}

describe('OCAPI inventory records', () => {
  it('reads a few products one by one: ats, and 0 for a product with no record', async () => {
    const ats = await reader().read(['P-10', 'P-11', 'P-11', 'NOPE']);
    expect([...ats]).toEqual([
      ['P-10', 9],
      ['P-11', 9],
      ['NOPE', 0],
    ]);
    expect(sandbox.requests.map((r) => r.route)).toEqual(['amToken', 'getInventoryRecord', 'getInventoryRecord', 'getInventoryRecord']);
  });

  it('reads many products by paging the list, 200 at a time', async () => {
    const ids = Array.from({ length: DIRECT_READ_MAX + 5 }, (_, i) => `P-${i * 17}`);
    const ats = await reader().read([...ids, 'P-9999']);
    expect(ats.get('P-17')).toBe(17 - (17 % 3));
    expect(ats.get('P-408')).toBe(408);
    expect(ats.get('P-9999')).toBe(0);
    expect(sandbox.requests.filter((r) => r.route === 'listInventoryRecords')).toHaveLength(3);
  });

  it('reuses its token across reads', async () => {
    const r = reader();
    await r.read(['P-1']);
    await r.read(['P-2']);
    expect(sandbox.requests.filter((q) => q.route === 'amToken')).toHaveLength(1);
  });

  it('a missing inventory list is an error, not zero stock', async () => {
    const config = sfccConfig(sandbox.url, { inventory: { listId: 'no-such-list' } });
    const r = createAvailableToSellReader({ sfcc: config.sfcc!, http: createHttpClient({ sleep: async () => undefined }), secret: sandboxSecret });
    await expect(r.read(['P-1'])).rejects.toThrow(/HTTP 404/);
    await expect(r.read(Array.from({ length: 30 }, (_, i) => `P-${i}`))).rejects.toThrow(/HTTP 404/);
  });
});

describe('OCI switch', () => {
  it('asks Omnichannel Inventory for the location group, 100 SKUs per call, with the AM token', async () => {
    const config = sfccConfig('https://sfcc.example', { inventory: { source: 'oci', listId: 'uk-group', tenantGroupId: 'tg-123' } });
    const fake = fakeFetch((request) => {
      if (request.url.pathname.endsWith('/access_token')) return jsonResponse({ access_token: 'am', token_type: 'Bearer', expires_in: 1799 });
      const skus = (JSON.parse(request.body ?? '{}') as { skus: string[] }).skus;
      return jsonResponse({ groups: [{ id: 'uk-group', records: skus.slice(0, 2).map((sku) => ({ sku, ato: 3, onHand: 5 })) }] });
    });
    const r = createAvailableToSellReader({ sfcc: config.sfcc!, http: createHttpClient({ fetch: fake.fetch }), secret: sandboxSecret });
    const ats = await r.read(Array.from({ length: 150 }, (_, i) => `S-${i}`));
    expect(ats.get('S-0')).toBe(3);
    expect(ats.get('S-2')).toBe(0);
    expect(ats.size).toBe(150);
    const calls = fake.requests.filter((q) => q.url.pathname.includes('get-availability'));
    expect(calls).toHaveLength(2);
    expect(calls[0]?.url.pathname).toBe('/inventory/availability/v1/organizations/tg-123/availability-records/actions/get-availability');
    expect(JSON.parse(calls[0]!.body!)).toMatchObject({ groups: ['uk-group'] });
    expect(calls[0]?.headers.get('authorization')).toBe('Bearer am');
  });

  it('cannot be chosen without the tenant group id', () => {
    expect(() => sfccConfig('https://sfcc.example', { inventory: { source: 'oci', listId: 'uk-group' } })).toThrow(/tenantGroupId/);
  });
});
