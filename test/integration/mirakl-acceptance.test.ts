/**
 * The mirakl-acceptance connector against the Mirakl sandbox and dynalite: OR21 only when every line maps and
 * stock (after the buffer) covers it, exceptions naming SKU/wanted/available otherwise, the out-of-stock refusal
 * rule, duplicate deliveries (one OR21), Mirakl 429/5xx, and orders that moved on before we answered.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAcceptanceConnector } from '../../functions/shared/commerce/acceptanceConnector';
import { SkuMap } from '../../functions/shared/commerce/mappings';
import { StaticAvailableToSell } from '../../functions/shared/commerce/ports';
import { AcceptanceWatchList } from '../../functions/shared/commerce/watchList';
import { type ConfigInput, sandboxConfigInput } from '../../functions/shared/config';
import { type CommerceHarness, startCommerceHarness } from '../support/commerceHarness';

const MP = 'debenhams';
const DRESS = 'DB-DRS-1042-BLK-12';
const KETTLE = 'DB-KET-6001-SLV';

let h: CommerceHarness;
let stock: Map<string, number>;

async function start(overrides: Partial<ConfigInput> = {}) {
  h = await startCommerceHarness(overrides);
  stock = new Map([
    ['P-DRESS', 10],
    ['P-KETTLE', 3],
  ]);
  const skus = new SkuMap(h.mappings, MP);
  await skus.set(DRESS, 'P-DRESS');
  await skus.set(KETTLE, 'P-KETTLE');
}

function connector() {
  return createAcceptanceConnector({
    config: h.config,
    mirakl: h.mirakl,
    mappings: h.mappings,
    availableToSell: () => new StaticAvailableToSell(stock),
    exceptions: h.exceptionsRecorder,
    log: h.log,
  });
}

function waitingOrder(lines: { offerSku: string; quantity: number }[]) {
  const order = h.sandbox.world.createOrder(MP, { state: 'WAITING_ACCEPTANCE', lines });
  return { order, event: h.awaiting(MP, order.order_id) };
}

afterEach(async () => {
  await h?.close();
});

describe('mirakl-acceptance', () => {
  beforeEach(() => start());

  it('accepts every line with one OR21 when all SKUs map and stock less the buffer covers them', async () => {
    // Kettle: ATS 3, buffer 2 → 1 sellable, exactly what the order wants.
    const { order, event } = waitingOrder([
      { offerSku: DRESS, quantity: 2 },
      { offerSku: KETTLE, quantity: 1 },
    ]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.calls('OR21')).toEqual([{ path: `/${MP}/api/orders/${order.order_id}/accept`, status: 204 }]);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('WAITING_DEBIT');
    expect(await h.exceptions()).toEqual([]);
    expect((await new AcceptanceWatchList(h.mappings).list(MP)).size).toBe(0);
  });

  it('does not accept an order with an unmapped SKU: sku.unmapped names it, the order stays watched', async () => {
    const { order, event } = waitingOrder([
      { offerSku: DRESS, quantity: 1 },
      { offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 },
    ]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    expect(h.calls('OR21')).toEqual([]);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'sku.unmapped', marketplace: MP, ref: order.order_id, owner: 'ecommerce' });
    expect(exception?.reason).toContain('"UNMAPPED-DB-7781-TAN"');
    expect((await new AcceptanceWatchList(h.mappings).list(MP)).get(order.order_id)).toBe(event.detail.acceptanceDeadline);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('WAITING_ACCEPTANCE');
  });

  it('does not accept when stock after the buffer is short: stock.insufficient with SKU, wanted and available', async () => {
    // Two lines of the same product: 1 + 1 wanted, 3 − 2 = 1 sellable.
    const { order, event } = waitingOrder([
      { offerSku: KETTLE, quantity: 1 },
      { offerSku: KETTLE, quantity: 1 },
    ]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    expect(h.calls('OR21')).toEqual([]);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'stock.insufficient', ref: order.order_id });
    expect(exception?.reason).toContain(`"${KETTLE}" (SFCC product P-KETTLE): order wants 2, 1 available`);
  });

  it('a product SFCC does not know has nothing available', async () => {
    stock.delete('P-DRESS');
    const { event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    expect((await h.exceptions())[0]?.reason).toContain('wants 1, 0 available');
  });

  it('a redrive after the mapping is fixed accepts the order', async () => {
    const { order, event } = waitingOrder([{ offerSku: 'UNMAPPED-DB-9002-RED-S', quantity: 1 }]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    await new SkuMap(h.mappings, MP).set('UNMAPPED-DB-9002-RED-S', 'P-DRESS');
    expect(await h.deliver('mirakl-acceptance', connector(), [event], 2)).toEqual([]);
    expect(h.calls('OR21')).toHaveLength(1);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('WAITING_DEBIT');
  });

  it('duplicate deliveries, in one batch and in later invocations, make one OR21', async () => {
    const { event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    const failed = await h.deliver('mirakl-acceptance', connector(), [event, event]);
    // The twin in the same batch is retried (in progress elsewhere), then finds the work done.
    expect(failed.length).toBeLessThanOrEqual(1);
    expect(await h.deliver('mirakl-acceptance', connector(), [event], 2)).toEqual([]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event], 1)).toEqual([]);
    expect(h.calls('OR21').filter((c) => c.status === 204)).toHaveLength(1);
  });

  it('rides out 429 (Retry-After) and 5xx from Mirakl within the HTTP layer', async () => {
    const { order, event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    h.sandbox.faults.inject({ operation: 'OR21', status: 429, retryAfterSeconds: 1, times: 1 });
    h.sandbox.faults.inject({ operation: 'OR21', status: 503, times: 1 });
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.calls('OR21').map((c) => c.status)).toEqual([429, 503, 204]);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('WAITING_DEBIT');
  });

  it('a Mirakl outage longer than the retries fails the record for SQS to retry, without an exception yet', async () => {
    const { event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    h.sandbox.faults.inject({ operation: 'OR21', status: 500, times: 4 });
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    expect(await h.exceptions()).toEqual([]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event], 2)).toEqual([]);
    expect(h.calls('OR21').at(-1)?.status).toBe(204);
  });

  it('an order accepted by a person, or auto-refused, before we answer is not an error', async () => {
    const { order, event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    h.sandbox.world.accept(MP, order.order_id);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.calls('OR21')[0]?.status).toBe(400);
    expect(h.log.lines).toContain('order no longer waiting for acceptance; nothing to do');
    expect(await h.exceptions()).toEqual([]);
  });

  it('an order past its deadline is auto-refused by the sandbox and OR21 answers ORDER_INVALID_STATE', async () => {
    const { order, event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    h.advance(73 * 3_600_000);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('REFUSED');
  });
});

function acceptanceRules(mode: 'auto' | 'manual', whenOutOfStock: 'leave' | 'refuse'): Partial<ConfigInput> {
  return {
    marketplaces: sandboxConfigInput.marketplaces.map((mp) =>
      mp.id === MP ? { ...mp, acceptance: { mode, whenOutOfStock, windowHours: 72, alarmMarginHours: 12 } } : mp,
    ),
  };
}

describe('mirakl-acceptance rules', () => {
  it('whenOutOfStock "refuse" refuses every line and records why', async () => {
    await start(acceptanceRules('auto', 'refuse'));
    const { order, event } = waitingOrder([{ offerSku: KETTLE, quantity: 5 }]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('REFUSED');
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'stock.insufficient', ref: order.order_id, component: 'mirakl-acceptance' });
    expect(exception?.reason).toContain('order refused');
  });

  it('whenOutOfStock "refuse" never refuses for an unmapped SKU: a person decides', async () => {
    await start(acceptanceRules('auto', 'refuse'));
    const { order, event } = waitingOrder([{ offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 1 }]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([0]);
    expect(h.sandbox.world.get(MP, order.order_id)?.order_state).toBe('WAITING_ACCEPTANCE');
  });

  it('mode "manual" sends nothing and keeps the order on the watch list', async () => {
    await start(acceptanceRules('manual', 'leave'));
    const { order, event } = waitingOrder([{ offerSku: DRESS, quantity: 1 }]);
    expect(await h.deliver('mirakl-acceptance', connector(), [event])).toEqual([]);
    expect(h.calls('OR21')).toEqual([]);
    expect((await new AcceptanceWatchList(h.mappings).list(MP)).has(order.order_id)).toBe(true);
  });
});
