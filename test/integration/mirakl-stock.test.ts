/**
 * Stock push against the Mirakl sandbox: one STO01 per run with every changed SKU (buffer applied, never below
 * zero), at most once a minute, STO02 follow-up until COMPLETE, STO03 lines as exceptions, never OF24, and the
 * readings ledger keeping the newest SFCC value.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkuMap } from '../../functions/shared/commerce/mappings';
import { StaticAvailableToSell } from '../../functions/shared/commerce/ports';
import { availableToSellLedger, createStockConnector, runStockPush, type StockDeps } from '../../functions/shared/commerce/stockPush';
import { businessEvent, eventIds } from '../../functions/shared/events';
import { type CommerceHarness, startCommerceHarness } from '../support/commerceHarness';

const MP = 'debenhams'; // stockBuffer 2 in the sandbox configuration
let h: CommerceHarness;

function deps(extra: Partial<StockDeps> = {}): StockDeps {
  return { config: h.config, mirakl: h.mirakl, mappings: h.mappings, guard: h.guard, exceptions: h.exceptionsRecorder, log: h.log, now: h.now, ...extra };
}

function stockChanged(id: string, items: { productId: string; availableToSell: number }[], at = h.now().toISOString()) {
  return businessEvent('Stock Changed', { schemaVersion: 1, eventId: eventIds.stockChanged(MP, id), marketplace: MP, occurredAt: at, items });
}

const offerQuantity = (sku: string) => h.sandbox.world.offers(MP).find((o) => o.sku === sku)?.quantity;

beforeEach(async () => {
  h = await startCommerceHarness();
  const skus = new SkuMap(h.mappings, MP);
  await skus.set('DB-DRS-1042-BLK-12', 'P-DRESS');
  await skus.set('DB-KET-6001-SLV', 'P-KETTLE');
  await skus.set('DB-BED-3301-DBL', 'P-DUVET');
});

afterEach(async () => {
  await h.close();
});

describe('mirakl-stock', () => {
  it('pushes every changed SKU in one STO01 with the buffer applied and never below zero, then follows it to COMPLETE', async () => {
    const failed = await h.deliver('mirakl-stock', createStockConnector(deps()), [
      stockChanged('c1', [
        { productId: 'P-DRESS', availableToSell: 10 },
        { productId: 'P-KETTLE', availableToSell: 1 },
      ]),
    ]);
    expect(failed).toEqual([]);
    expect(h.calls('STO01')).toHaveLength(1);
    const importId = (await h.mappings.query(`stock-import#${MP}`))[0]?.sk as string;
    expect(h.sandbox.stock.status(MP, importId)?.status).toBe('WAITING');

    h.advance(6_000);
    expect((await runStockPush(MP, deps())).completed).toEqual([]);
    h.advance(60_000);
    const run = await runStockPush(MP, deps());
    expect(run.completed).toEqual([{ importId, status: 'COMPLETE', errors: 0 }]);
    expect(run.pushed).toBeUndefined();
    expect(offerQuantity('DB-DRS-1042-BLK-12')).toBe(8);
    expect(offerQuantity('DB-KET-6001-SLV')).toBe(0);
    // Never OF24 (POST /api/offers), which resets every field not sent.
    expect(h.sandbox.requests.some((r) => r.path.endsWith('/api/offers') && r.method === 'POST')).toBe(false);
  });

  it('calls STO01 at most once a minute: changes in between wait and go together in the next import', async () => {
    const connector = createStockConnector(deps());
    await h.deliver('mirakl-stock', connector, [stockChanged('c1', [{ productId: 'P-DRESS', availableToSell: 10 }])]);
    h.advance(20_000);
    await h.deliver('mirakl-stock', connector, [stockChanged('c2', [{ productId: 'P-KETTLE', availableToSell: 7 }])]);
    await h.deliver('mirakl-stock', connector, [stockChanged('c3', [{ productId: 'P-DUVET', availableToSell: 4 }])]);
    expect(h.calls('STO01')).toHaveLength(1);
    expect(h.log.lines).toContain('stock push deferred to the scheduled run');
    h.advance(41_000);
    const run = await runStockPush(MP, deps());
    expect(run.pushed?.lines).toBe(2);
    expect(h.calls('STO01')).toHaveLength(2);
  });

  it('pushes nothing when nothing changed since the last push', async () => {
    await h.deliver('mirakl-stock', createStockConnector(deps()), [stockChanged('c1', [{ productId: 'P-DRESS', availableToSell: 10 }])]);
    h.advance(61_000);
    await h.deliver('mirakl-stock', createStockConnector(deps()), [stockChanged('c2', [{ productId: 'P-DRESS', availableToSell: 10 }])]);
    expect(h.calls('STO01')).toHaveLength(1);
  });

  it('an older reading arriving late never overwrites a newer one', async () => {
    const connector = createStockConnector(deps());
    await h.deliver('mirakl-stock', connector, [stockChanged('new', [{ productId: 'P-DRESS', availableToSell: 5 }], '2026-11-22T10:00:00.000Z')]);
    await h.deliver('mirakl-stock', connector, [stockChanged('old', [{ productId: 'P-DRESS', availableToSell: 50 }], '2026-11-22T09:00:00.000Z')]);
    expect((await availableToSellLedger(h.mappings, MP)).get('P-DRESS')).toBe(5);
  });

  it('turns STO03 error lines into stock.import-error exceptions naming the SKU', async () => {
    // A mapping for an offer the shop does not have on Mirakl: STO03 reports its line.
    await new SkuMap(h.mappings, MP).set('DB-GONE-0000', 'P-GONE');
    await h.deliver('mirakl-stock', createStockConnector(deps()), [
      stockChanged('c1', [
        { productId: 'P-GONE', availableToSell: 9 },
        { productId: 'P-DRESS', availableToSell: 3 },
      ]),
    ]);
    h.advance(60_000);
    const run = await runStockPush(MP, deps());
    expect(run.completed[0]).toMatchObject({ status: 'COMPLETE', errors: 1 });
    expect(h.calls('STO03')).toHaveLength(1);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'stock.import-error', marketplace: MP, ref: 'DB-GONE-0000', component: 'mirakl-stock' });
    expect(exception?.reason).toContain('The offer does not exist');
    expect(offerQuantity('DB-DRS-1042-BLK-12')).toBe(1);
  });

  it('a scheduled run with the SFCC reader refreshes every mapped product (catches missed events)', async () => {
    const sfcc = new StaticAvailableToSell(new Map([['P-DUVET', 30], ['P-KETTLE', 0]]));
    const run = await runStockPush(MP, deps({ availableToSell: sfcc }), { refresh: true });
    expect(run.pushed?.lines).toBe(2);
    h.advance(61_000);
    await runStockPush(MP, deps());
    expect(offerQuantity('DB-BED-3301-DBL')).toBe(28);
    expect(offerQuantity('DB-KET-6001-SLV')).toBe(0);
  });

  it('a failed STO01 fails the event for SQS to retry; nothing is recorded as pushed', async () => {
    h.sandbox.faults.inject({ operation: 'STO01', status: 503, times: 1 });
    const connector = createStockConnector(deps());
    const event = stockChanged('c1', [{ productId: 'P-DRESS', availableToSell: 10 }]);
    expect(await h.deliver('mirakl-stock', connector, [event])).toEqual([0]);
    // STO01 is sent once per slot, never retried in-process: the retry waits for the next minute.
    expect(h.calls('STO01')).toHaveLength(1);
    h.advance(61_000);
    expect(await h.deliver('mirakl-stock', connector, [event], 2)).toEqual([]);
    expect(h.calls('STO01').map((c) => c.status)).toEqual([503, 201]);
  });

  it('a 429 on the STO02 follow-up leaves the import outstanding for the next run', async () => {
    await h.deliver('mirakl-stock', createStockConnector(deps()), [stockChanged('c1', [{ productId: 'P-DRESS', availableToSell: 10 }])]);
    h.advance(60_000);
    h.sandbox.faults.inject({ operation: 'STO02', status: 429, retryAfterSeconds: 1, times: 4 });
    await expect(runStockPush(MP, deps())).rejects.toThrow(/STO02 failed, HTTP 429/);
    h.advance(60_000);
    expect((await runStockPush(MP, deps())).completed[0]?.status).toBe('COMPLETE');
  });
});
