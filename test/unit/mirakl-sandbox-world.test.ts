import { describe, expect, it } from 'vitest';
import { KNOWN_ORDER_STATES, readOrder } from '../../functions/shared/mirakl/orders';
import { MiraklWorld, MiraklWorldError, type MiraklOrder } from '../../local/sandboxes/mirakl';

const START = Date.parse('2026-11-20T12:00:00Z');
const MARKETPLACES = [
  { id: 'debenhams', apiKey: 'k1' },
  { id: 'decathlon', apiKey: 'k2', shopId: 2043 },
];

function world(options: { seed?: number; autoAccept?: boolean; acceptanceWindowHours?: number } = {}) {
  const clock = { now: START };
  const w = new MiraklWorld({ marketplaces: MARKETPLACES, clock: () => new Date(clock.now), ...options });
  return { w, clock, advance: (minutes: number) => (clock.now += minutes * 60_000) };
}

function seeded(seed = 11) {
  const t = world({ seed });
  t.w.seedHistory();
  return t;
}

const allLines = (orders: MiraklOrder[]) => orders.flatMap((o) => o.order_lines);
const expectError = (fn: () => unknown, code: string) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MiraklWorldError);
    expect((error as MiraklWorldError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}`);
};

describe('seeded history', () => {
  it('covers every lifecycle state, refunds, cancellations, incidents, unmapped SKUs and relay e-mails', () => {
    const { w } = seeded();
    for (const mp of ['debenhams', 'decathlon']) {
      const orders = w.orders(mp);
      expect(orders.length).toBeGreaterThanOrEqual(20);
      expect(orders.length).toBeLessThanOrEqual(40);
      const states = new Set(orders.map((o) => o.order_state));
      for (const state of KNOWN_ORDER_STATES.filter((s) => s !== 'TO_COLLECT')) expect(states, state).toContain(state);

      const refunds = allLines(orders).flatMap((l) => l.refunds);
      expect(refunds.map((r) => r.refund_state)).toEqual(expect.arrayContaining(['WAITING_REFUND', 'REFUNDED']));
      const partial = allLines(orders).some((l) => l.refunds.length > 0 && l.refunds.reduce((n, r) => n + r.amount, 0) < l.price);
      expect(partial).toBe(true);
      expect(allLines(orders).some((l) => l.cancelations.length > 0 && l.order_line_state !== 'CANCELED')).toBe(true);
      expect(orders.some((o) => o.order_state === 'CANCELED' && allLines([o]).some((l) => l.cancelations.length > 0))).toBe(true);
      expect(orders.some((o) => o.has_incident && o.order_lines.some((l) => l.order_line_state === 'INCIDENT_OPEN'))).toBe(true);
      expect(orders.some((o) => o.order_lines.length > 1)).toBe(true);
      expect(orders.some((o) => o.order_lines.some((l) => l.offer_sku.startsWith('UNMAPPED-')))).toBe(true);
      expect(orders.some((o) => o.order_state === 'REFUSED' && o.acceptance_decision_date === undefined)).toBe(true);
      expect(orders.some((o) => o.order_state === 'WAITING_DEBIT_PAYMENT' && !o.customer_debited_date)).toBe(true);
      for (const o of orders) expect(readOrder(o).ok, o.order_id).toBe(true);
    }
  });

  it('looks like each marketplace: currency, relay domains, alpha-3 countries, fictional phones', () => {
    const { w } = seeded();
    const deb = w.orders('debenhams');
    const dec = w.orders('decathlon');
    expect(new Set(deb.map((o) => o.currency_iso_code))).toEqual(new Set(['GBP']));
    expect(new Set(dec.map((o) => o.currency_iso_code))).toEqual(new Set(['EUR']));
    expect(deb.every((o) => /^notification\+[a-z0-9.]+@notification\.mirakl\.net$/.test(o.customer_notification_email ?? ''))).toBe(true);
    expect(dec.some((o) => o.customer_notification_email?.endsWith('@relay.decathlon.example'))).toBe(true);
    expect(dec.some((o) => o.customer_notification_email?.endsWith('@notification.mirakl.net'))).toBe(true);
    for (const o of [...deb, ...dec]) {
      expect(o.customer.shipping_address.country_iso_code).toMatch(/^[A-Z]{3}$/);
      expect(o.customer.shipping_address.phone).toMatch(/^\+\d{2,3} [\d ]+$/);
      expect(o.customer.customer_id.length).toBeGreaterThan(0);
    }
    expect(deb.some((o) => o.customer.shipping_address.phone?.startsWith('+44 7700 900'))).toBe(true);
  });

  it('dates are UTC Z, within the last 48 hours, and never before creation', () => {
    const { w } = seeded();
    for (const o of [...w.orders('debenhams'), ...w.orders('decathlon')]) {
      const created = Date.parse(o.created_date);
      expect(o.created_date).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      expect(created).toBeGreaterThanOrEqual(START - 48 * 3_600_000);
      expect(Date.parse(o.last_updated_date)).toBeGreaterThanOrEqual(created);
      expect(Date.parse(o.last_updated_date)).toBeLessThanOrEqual(START);
      for (const line of o.order_lines) {
        for (const d of [line.debited_date, line.shipped_date, line.received_date]) {
          if (d) expect(Date.parse(d)).toBeGreaterThanOrEqual(created);
        }
        if (line.shipped_date && line.debited_date) expect(line.shipped_date >= line.debited_date).toBe(true);
        if (line.received_date && line.shipped_date) expect(line.received_date >= line.shipped_date).toBe(true);
      }
    }
  });

  it('commission and totals add up per line and per order', () => {
    const { w } = seeded();
    for (const o of w.orders('debenhams')) {
      const r2 = (n: number) => Math.round(n * 100) / 100;
      expect(o.price).toBeCloseTo(r2(o.order_lines.reduce((n, l) => n + l.price, 0)), 2);
      expect(o.total_commission).toBeCloseTo(r2(o.order_lines.reduce((n, l) => n + l.total_commission, 0)), 2);
      for (const l of o.order_lines) {
        expect(l.total_commission).toBeCloseTo(l.commission_fee + l.commission_vat, 2);
        expect(l.total_price).toBeCloseTo(l.price + l.shipping_price, 2);
      }
    }
  });
});

describe('determinism', () => {
  const run = (seed: number) => {
    const { w, advance } = seeded(seed);
    for (let i = 0; i < 30; i += 1) {
      advance(5);
      w.tick();
    }
    return JSON.stringify([w.orders('debenhams'), w.orders('decathlon')]);
  };

  it('same seed and tick sequence give the same marketplace, another seed another one', () => {
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });
});

describe('order lifecycle', () => {
  it('walks an order from acceptance to refund, stamping every change with the clock', () => {
    const { w, advance } = world();
    const order = w.createOrder('debenhams', { lines: [{ offerSku: 'DB-KET-6001-SLV' }, { offerSku: 'UNMAPPED-DB-7781-TAN', quantity: 2 }] });
    const id = order.order_id;
    const [first, second] = order.order_lines.map((l) => l.order_line_id) as [string, string];
    expect(order.order_state).toBe('WAITING_ACCEPTANCE');
    expect(order.created_date).toBe('2026-11-20T12:00:00Z');

    advance(10);
    w.accept('debenhams', id, [
      { id: first, accepted: true },
      { id: second, accepted: false },
    ]);
    let o = w.get('debenhams', id)!;
    expect(o.order_state).toBe('WAITING_DEBIT');
    expect(o.order_lines.map((l) => l.order_line_state)).toEqual(['WAITING_DEBIT', 'REFUSED']);
    expect(o.acceptance_decision_date).toBe('2026-11-20T12:10:00Z');
    expect(o.last_updated_date).toBe('2026-11-20T12:10:00Z');

    advance(5);
    w.requestDebit('debenhams', id);
    expect(w.get('debenhams', id)!.order_state).toBe('WAITING_DEBIT_PAYMENT');
    advance(5);
    w.debit('debenhams', id);
    o = w.get('debenhams', id)!;
    expect(o.order_state).toBe('SHIPPING');
    expect(o.customer_debited_date).toBe('2026-11-20T12:20:00Z');
    expect(o.order_lines[0]!.debited_date).toBe('2026-11-20T12:20:00Z');
    expect(o.order_lines[1]!.debited_date).toBeUndefined();
    expect(o.can_shop_ship).toBe(true);

    advance(60);
    w.ship('debenhams', id, { carrierCode: 'ROYAL_MAIL', trackingNumber: 'TT123456785GB' });
    o = w.get('debenhams', id)!;
    expect(o.order_state).toBe('SHIPPED');
    expect(o.shipping_tracking_url).toContain('TT123456785GB');
    expect(o.order_lines[0]!.shipped_date).toBe('2026-11-20T13:20:00Z');
    expect(o.order_lines[1]!.order_line_state).toBe('REFUSED');

    advance(60 * 24);
    w.receive('debenhams', id);
    expect(w.get('debenhams', id)!.order_lines[0]!.received_date).toBe('2026-11-21T13:20:00Z');

    advance(60);
    const partial = w.refundLine('debenhams', id, first, 10, { reasonCode: '15' });
    o = w.get('debenhams', id)!;
    const refund = o.order_lines[0]!.refunds[0]!;
    expect(refund).toMatchObject({ id: partial, amount: 10, refund_state: 'WAITING_REFUND', state: 'WAITING_REFUND' });
    expect(refund.order_refund_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(refund.commission_total_amount).toBeGreaterThan(0);
    advance(60);
    w.confirmRefund('debenhams', id, partial);
    o = w.get('debenhams', id)!;
    expect(o.order_lines[0]!.refunds[0]).toMatchObject({ refund_state: 'REFUNDED', transaction_date: '2026-11-21T15:20:00Z' });
    expect(o.order_lines[0]!.order_line_state).toBe('RECEIVED');
    expect(o.fully_refunded).toBe(false);

    expectError(() => w.refundLine('debenhams', id, first, o.order_lines[0]!.price), 'INVALID_AMOUNT');
    const rest = w.refundLine('debenhams', id, first, Math.round((o.order_lines[0]!.price - 10) * 100) / 100);
    w.confirmRefund('debenhams', id, rest);
    o = w.get('debenhams', id)!;
    expect(o.order_lines[0]!.order_line_state).toBe('REFUNDED');
    expect(o.fully_refunded).toBe(true);
    expectError(() => w.refundLine('debenhams', id, first, 1), 'ORDER_LINE_INVALID_STATE');
  });

  it('rejects transitions Mirakl would reject, with OR21-style codes', () => {
    const { w } = world();
    const o = w.createOrder('decathlon', { lines: [{}, {}] });
    expectError(() => w.accept('decathlon', o.order_id, [{ id: o.order_lines[0]!.order_line_id, accepted: true }]), 'ORDER_LINE_ACCEPTANCE_DECISION_MISSING');
    expectError(() => w.accept('decathlon', o.order_id, [{ id: 'nope', accepted: true }]), 'ORDER_LINE_NOT_FOUND');
    expectError(() => w.ship('decathlon', o.order_id), 'ORDER_INVALID_STATE');
    expectError(() => w.accept('decathlon', 'DKT-0-A'), 'ORDER_NOT_FOUND');
    expectError(() => w.get('nowhere', 'x'), 'MARKETPLACE_NOT_FOUND');
    expectError(() => w.refundLine('decathlon', o.order_id, o.order_lines[0]!.order_line_id, 1), 'ORDER_LINE_INVALID_STATE');
    w.accept('decathlon', o.order_id);
    expectError(() => w.accept('decathlon', o.order_id), 'ORDER_INVALID_STATE');
  });

  it('refusing every line refuses the order', () => {
    const { w } = world();
    const o = w.createOrder('decathlon');
    w.accept('decathlon', o.order_id, o.order_lines.map((l) => ({ id: l.order_line_id, accepted: false })));
    const after = w.get('decathlon', o.order_id)!;
    expect(after.order_state).toBe('REFUSED');
    expect(after.acceptance_decision_date).toBeDefined();
  });

  it('cancels lines and orders; a paid order gets one cancelation per remaining line', () => {
    const { w, advance } = world();
    const o = w.createOrder('debenhams', { lines: [{ quantity: 3 }, { quantity: 1 }] });
    const [a, b] = o.order_lines.map((l) => l.order_line_id) as [string, string];
    w.accept('debenhams', o.order_id);
    w.debit('debenhams', o.order_id);
    advance(1);
    const c1 = w.cancelLine('debenhams', o.order_id, a, 1);
    let after = w.get('debenhams', o.order_id)!;
    expect(after.order_lines[0]!.cancelations).toEqual([expect.objectContaining({ id: c1, quantity: 1 })]);
    expect(after.order_lines[0]!.order_line_state).toBe('SHIPPING');
    expectError(() => w.cancelLine('debenhams', o.order_id, a, 3), 'INVALID_AMOUNT');
    w.cancel('debenhams', o.order_id);
    after = w.get('debenhams', o.order_id)!;
    expect(after.order_state).toBe('CANCELED');
    expect(after.order_lines[0]!.cancelations.map((c) => c.quantity)).toEqual([1, 2]);
    expect(after.order_lines.find((l) => l.order_line_id === b)!.cancelations).toHaveLength(1);
    const ids = allLines([after]).flatMap((l) => l.cancelations.map((c) => c.id));
    expect(new Set(ids).size).toBe(ids.length);

    const unpaid = w.createOrder('debenhams');
    w.cancel('debenhams', unpaid.order_id);
    expect(allLines([w.get('debenhams', unpaid.order_id)!]).flatMap((l) => l.cancelations)).toEqual([]);
  });

  it('opens and closes incidents, restoring the line state and has_incident', () => {
    const { w } = world();
    const o = w.createOrder('debenhams');
    const line = o.order_lines[0]!.order_line_id;
    w.accept('debenhams', o.order_id);
    w.debit('debenhams', o.order_id);
    w.ship('debenhams', o.order_id);
    w.openIncident('debenhams', o.order_id, line);
    let after = w.get('debenhams', o.order_id)!;
    expect(after.has_incident).toBe(true);
    expect(after.order_lines[0]!.order_line_state).toBe('INCIDENT_OPEN');
    w.receive('debenhams', o.order_id);
    w.closeIncident('debenhams', o.order_id, line);
    after = w.get('debenhams', o.order_id)!;
    expect(after.has_incident).toBe(false);
    expect(after.order_lines[0]!.order_line_state).toBe('RECEIVED');
    expectError(() => w.closeIncident('debenhams', o.order_id, line), 'ORDER_LINE_INVALID_STATE');
  });

  it('accepts any state for tests, even one Mirakl has not published', () => {
    const { w } = world();
    const o = w.createOrder('decathlon');
    w.setState('decathlon', o.order_id, 'ON_HOLD_BY_OPERATOR');
    const after = w.get('decathlon', o.order_id)!;
    expect(after.order_state).toBe('ON_HOLD_BY_OPERATOR');
    expect(readOrder(after).ok).toBe(true);
  });

  it('returns copies: callers cannot change the world by mutating what they read', () => {
    const { w } = world();
    const o = w.createOrder('decathlon');
    o.order_state = 'CLOSED';
    w.get('decathlon', o.order_id)!.order_lines[0]!.quantity = 99;
    expect(w.get('decathlon', o.order_id)).toMatchObject({ order_state: 'WAITING_ACCEPTANCE' });
    expect(w.get('decathlon', o.order_id)!.order_lines[0]!.quantity).not.toBe(99);
  });
});

describe('tick', () => {
  it('auto-refuses orders past the acceptance window, without a decision date', () => {
    const { w, advance } = world({ autoAccept: false, acceptanceWindowHours: 2 });
    const o = w.createOrder('debenhams');
    expect(w.acceptanceDeadline('debenhams', o.order_id).toISOString()).toBe('2026-11-20T14:00:00.000Z');
    advance(119);
    w.tick();
    expect(w.get('debenhams', o.order_id)!.order_state).toBe('WAITING_ACCEPTANCE');
    advance(1);
    w.tick();
    const after = w.get('debenhams', o.order_id)!;
    expect(after.order_state).toBe('REFUSED');
    expect(after.acceptance_decision_date).toBeUndefined();
    expect(after.last_updated_date).toBe('2026-11-20T14:00:00Z');
  });

  it('leaves acceptance to the connector when auto-accept is off', () => {
    const { w, advance } = world({ autoAccept: false });
    for (let i = 0; i < 40; i += 1) {
      advance(5);
      w.tick();
    }
    const orders = [...w.orders('debenhams'), ...w.orders('decathlon')];
    expect(orders.length).toBeGreaterThan(10);
    expect(orders.every((o) => ['STAGING', 'WAITING_ACCEPTANCE'].includes(o.order_state))).toBe(true);
  });

  it('never throws and keeps orders consistent, whatever the seed', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { w, advance } = seeded(seed);
      for (let i = 0; i < 120; i += 1) {
        advance(7);
        w.tick();
      }
      for (const o of [...w.orders('debenhams'), ...w.orders('decathlon')]) {
        expect(readOrder(o).ok).toBe(true);
        expect(o.has_incident).toBe(o.order_lines.some((l) => l.order_line_state === 'INCIDENT_OPEN'));
        for (const l of o.order_lines) {
          expect(l.refunds.reduce((n, r) => n + r.amount, 0)).toBeLessThanOrEqual(l.price + 0.001);
          expect(l.cancelations.reduce((n, c) => n + c.quantity, 0)).toBeLessThanOrEqual(l.quantity);
        }
      }
    }
  });

  it('moves orders forward through payment, shipping, delivery and refunds', () => {
    const { w, advance } = world({ seed: 3 });
    for (let i = 0; i < 150; i += 1) {
      advance(5);
      w.tick();
    }
    const orders = [...w.orders('debenhams'), ...w.orders('decathlon')];
    const states = new Set(orders.map((o) => o.order_state));
    for (const s of ['SHIPPING', 'SHIPPED', 'RECEIVED', 'CLOSED']) expect(states, s).toContain(s);
    expect(allLines(orders).flatMap((l) => l.refunds).some((r) => r.refund_state === 'REFUNDED')).toBe(true);
    expect(orders.some((o) => o.shipping_tracking && o.shipping_carrier_code)).toBe(true);
    const ids = orders.map((o) => o.order_id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
