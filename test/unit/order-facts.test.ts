import { describe, expect, it } from 'vitest';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { type OrderFactsResult, type OrderSnapshot, orderFacts } from '../../functions/shared/ingest/orderFacts';
import { rawLine, rawOrder, updated, withLines, type RawOrder } from '../support/miraklOrders';

const debenhams = marketplaceById(sandboxConfig, 'debenhams');
const decathlon = marketplaceById(sandboxConfig, 'decathlon');
const ctx = { marketplace: debenhams, component: 'poller' };

/** Feeds successive reads of an order through the normaliser like successive polls, carrying its snapshot. */
function polls(...reads: RawOrder[]): OrderFactsResult[] {
  const snapshots = new Map<string, OrderSnapshot>();
  return reads.map((order) => {
    const result = orderFacts(order, snapshots.get(order.order_id), ctx);
    if (result.snapshot) snapshots.set(result.orderId, result.snapshot);
    return result;
  });
}

function ids(order: RawOrder, previous?: OrderSnapshot) {
  return orderFacts(order, previous, ctx).events.map((e) => e.id);
}

describe('facts table: which business facts an order produces', () => {
  it('WAITING_ACCEPTANCE produces Order Awaiting Acceptance with the configured deadline, nothing else', () => {
    const order = rawOrder('A1-A', { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null });
    const [event, ...rest] = orderFacts(order, undefined, ctx).events;
    expect(rest).toEqual([]);
    expect(event?.id).toBe('debenhams:A1-A:awaiting-acceptance');
    expect(event?.detailType).toBe('Order Awaiting Acceptance');
    expect(event?.detailType === 'Order Awaiting Acceptance' && event.detail.acceptanceDeadline).toBe(
      new Date(Date.parse('2026-11-20T09:00:00Z') + debenhams.acceptance.windowHours * 3_600_000).toISOString(),
    );
  });

  it.each([
    ['STAGING', null],
    ['WAITING_ACCEPTANCE', null],
    ['WAITING_DEBIT', null],
    ['WAITING_DEBIT_PAYMENT', null],
    ['REFUSED', '2026-11-20T09:45:00Z'],
    ['CANCELED', '2026-11-20T09:45:00Z'],
  ])('never confirms from %s (debit date %s)', (state, debited) => {
    const events = orderFacts(rawOrder('N-A', { order_state: state, customer_debited_date: debited }), undefined, ctx)
      .events;
    expect(events.filter((e) => e.detailType === 'Order Confirmed')).toEqual([]);
  });

  it.each(['SHIPPING', 'SHIPPED', 'TO_COLLECT', 'RECEIVED'])('confirms an accepted and paid order in %s', (state) => {
    expect(ids(rawOrder('P-A', { order_state: state }))).toContain('debenhams:P-A:confirmed');
  });

  it('confirms WAITING_DEBIT_PAYMENT once customer_debited_date is set', () => {
    expect(ids(rawOrder('D-A', { order_state: 'WAITING_DEBIT_PAYMENT' }))).toEqual(['debenhams:D-A:confirmed']);
  });

  it('confirms CLOSED only with shipped lines or a debit', () => {
    const closedUnpaid = rawOrder('C-A', { order_state: 'CLOSED', customer_debited_date: null });
    expect(ids(closedUnpaid)).toEqual([]);
    const closedShipped = withLines(closedUnpaid, () => ({ order_line_state: 'CLOSED', shipped_date: '2026-11-21T08:00:00Z' }));
    expect(ids(closedShipped)).toEqual(['debenhams:C-A:confirmed', 'debenhams:C-A:shipped']);
  });

  it('a late first sighting produces every implied fact in business order', () => {
    const received = withLines(rawOrder('L-A', { order_state: 'RECEIVED' }), () => ({
      order_line_state: 'RECEIVED',
      shipped_date: '2026-11-21T08:00:00Z',
      received_date: '2026-11-22T08:00:00Z',
    }));
    const events = orderFacts(received, undefined, ctx).events;
    expect(events.map((e) => e.detailType)).toEqual(['Order Confirmed', 'Order Shipped', 'Order Received']);
    expect(events.map((e) => e.detail.occurredAt)).toEqual([
      '2026-11-20T09:45:00.000Z',
      '2026-11-21T08:00:00.000Z',
      '2026-11-22T08:00:00.000Z',
    ]);
  });

  it('shipped when some lines reach SHIPPED while the order is still SHIPPING', () => {
    const partial = withLines(rawOrder('S-A'), (_, i) => (i === 0 ? { order_line_state: 'SHIPPED', shipped_date: '2026-11-21T08:00:00Z' } : {}));
    expect(ids(partial)).toEqual(['debenhams:S-A:confirmed', 'debenhams:S-A:shipped']);
  });

  it('REFUSED produces Order Refused and no purchase', () => {
    const [waiting, refused] = polls(
      rawOrder('R-A', { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null }),
      rawOrder('R-A', { order_state: 'REFUSED', customer_debited_date: null, last_updated_date: '2026-11-21T00:00:00Z' }),
    );
    expect(waiting?.events.map((e) => e.id)).toEqual(['debenhams:R-A:awaiting-acceptance']);
    expect(refused?.events.map((e) => e.id)).toEqual(['debenhams:R-A:refused']);
  });

  it('whole-order cancellation after confirmation produces :cancelled; before confirmation nothing', () => {
    const order = rawOrder('X-A');
    const [first, second] = polls(order, updated(order, '2026-11-21T00:00:00Z', { order_state: 'CANCELED' }));
    expect(first?.events.map((e) => e.id)).toEqual(['debenhams:X-A:confirmed']);
    const cancelled = second?.events[0];
    expect(cancelled?.id).toBe('debenhams:X-A:cancelled');
    expect(cancelled?.detailType === 'Order Cancelled' && cancelled.detail).toMatchObject({ scope: 'order', amount: 53.99, cancellation: null });
    expect(ids(rawOrder('Y-A', { order_state: 'CANCELED', customer_debited_date: null }))).toEqual([]);
  });

  it('each cancelations[].id produces one Order Cancelled with amount, line and reason', () => {
    const order = withLines(rawOrder('PC-A'), (_, i) =>
      i === 1
        ? { cancelations: [{ id: 'c-77', amount: 25, shipping_amount: 1, quantity: 1, reason_code: '34', commission_total_amount: 4.8, created_date: '2026-11-20T11:00:00Z' }] }
        : {},
    );
    const events = orderFacts(order, undefined, ctx).events;
    const cancel = events.find((e) => e.id === 'debenhams:PC-A:cancel:c-77');
    expect(cancel?.detailType === 'Order Cancelled' && cancel.detail).toMatchObject({
      scope: 'line',
      amount: 26,
      cancellation: { cancellationId: 'c-77', amount: 25, shippingAmount: 1, reasonCode: '34', line: { lineId: 'PC-A-2' } },
      occurredAt: '2026-11-20T11:00:00.000Z',
    });
  });

  it('a cancellation seen before confirmation is published right after the confirmation', () => {
    const cancel = { id: 'c-1', amount: 25, shipping_amount: 0, reason_code: '34', commission_total_amount: 0 };
    const waiting = withLines(rawOrder('CB-A', { order_state: 'WAITING_DEBIT_PAYMENT', customer_debited_date: null }), (_, i) =>
      i === 0 ? { order_line_state: 'CANCELED', cancelations: [cancel] } : {},
    );
    const [first, second] = polls(waiting, updated(waiting, '2026-11-21T00:00:00Z', { order_state: 'SHIPPING', customer_debited_date: '2026-11-21T00:00:00Z' }));
    expect(first?.events).toEqual([]);
    expect(second?.events.map((e) => e.id)).toEqual(['debenhams:CB-A:confirmed', 'debenhams:CB-A:cancel:c-1']);
  });

  it('each refunds[].id produces one Order Refunded once REFUNDED, exactly once', () => {
    const refund = (state: string) => ({ id: '1106', order_refund_id: 'or-1', amount: 25, shipping_amount: 0, quantity: 1, reason_code: '19', refund_state: state, commission_total_amount: 4.8, created_date: '2026-11-21T11:40:41Z' });
    const shipped = withLines(rawOrder('RF-A', { order_state: 'SHIPPED' }), () => ({ order_line_state: 'SHIPPED', shipped_date: '2026-11-21T08:00:00Z' }));
    const pending = withLines(updated(shipped, '2026-11-21T12:00:00Z'), (_, i) => (i === 0 ? { refunds: [refund('WAITING_REFUND')] } : {}));
    const done = withLines(updated(shipped, '2026-11-21T13:00:00Z'), (_, i) => (i === 0 ? { refunds: [refund('REFUNDED')] } : {}));
    const second = withLines(updated(done, '2026-11-21T14:00:00Z'), (l, i) => (i === 1 ? { refunds: [{ ...refund('REFUNDED'), id: '1107' }] } : { refunds: l.refunds }));
    const results = polls(shipped, pending, done, done, second).map((r) => r.events.map((e) => e.id));
    expect(results).toEqual([
      ['debenhams:RF-A:confirmed', 'debenhams:RF-A:shipped'],
      [],
      ['debenhams:RF-A:refund:1106'],
      [],
      ['debenhams:RF-A:refund:1107'],
    ]);
  });

  it('the deprecated refund `state` field is honoured when refund_state is absent', () => {
    const order = withLines(rawOrder('RS-A'), (_, i) => (i === 0 ? { refunds: [{ id: '9', amount: 5, state: 'REFUNDED' }] } : {}));
    expect(ids(order)).toContain('debenhams:RS-A:refund:9');
  });

  it('incidents open and close per line with an occurrence number', () => {
    const base = rawOrder('IN-A');
    const open = (at: string) => withLines(updated(base, at, { has_incident: true }), (_, i) => (i === 0 ? { order_line_state: 'INCIDENT_OPEN' } : {}));
    const closed = (at: string) => updated(base, at);
    const results = polls(base, open('2026-11-21T01:00:00Z'), closed('2026-11-21T02:00:00Z'), open('2026-11-21T03:00:00Z')).map((r) => r.events.map((e) => e.id));
    expect(results).toEqual([
      ['debenhams:IN-A:confirmed'],
      ['debenhams:IN-A:incident-opened:IN-A-1:1'],
      ['debenhams:IN-A:incident-closed:IN-A-1:1'],
      ['debenhams:IN-A:incident-opened:IN-A-1:2'],
    ]);
  });

  it('an order with an open incident is flagged on its purchase fact', () => {
    const order = withLines(rawOrder('HI-A', { has_incident: true }), (_, i) => (i === 0 ? { order_line_state: 'INCIDENT_OPEN' } : {}));
    const confirmed = orderFacts(order, undefined, ctx).events.find((e) => e.detailType === 'Order Confirmed');
    expect(confirmed?.detail).toMatchObject({ order: { hasIncident: true } });
  });
});

describe('overlap, replay and out-of-order reads', () => {
  it('re-reading the same order (OR11 overlap) publishes nothing new', () => {
    const order = rawOrder('O-A');
    const [first, again, third] = polls(order, order, structuredClone(order));
    expect(first?.events).toHaveLength(1);
    expect(again?.events).toEqual([]);
    expect(third?.events).toEqual([]);
  });

  it('an older version of an order than the one remembered is ignored', () => {
    const waiting = rawOrder('OO-A', { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null, last_updated_date: '2026-11-20T08:00:00Z' });
    const shipping = rawOrder('OO-A', { last_updated_date: '2026-11-20T10:00:00Z' });
    const [, old] = polls(shipping, waiting);
    expect(old?.stale).toBe(true);
    expect(old?.events).toEqual([]);
  });
});

describe('unknown enum values', () => {
  it('an unknown order state is kept, produces no purchase fact and is reported once', () => {
    const order = rawOrder('U-A', { order_state: 'WAITING_SCORING' });
    const [first, second] = polls(order, updated(order, '2026-11-21T00:00:00Z'));
    expect(first?.events).toEqual([]);
    expect(first?.snapshot?.state).toBe('WAITING_SCORING');
    expect(first?.notices).toHaveLength(1);
    expect(first?.notices[0]).toContain('WAITING_SCORING');
    expect(second?.notices).toEqual([]);
  });

  it('an unknown line state blocks the purchase fact until it is understood', () => {
    const order = withLines(rawOrder('UL-A'), (_, i) => (i === 0 ? { order_line_state: 'PENDING_REVIEW' } : {}));
    const [first, second] = polls(order, withLines(updated(order, '2026-11-21T00:00:00Z'), () => ({ order_line_state: 'SHIPPING' })));
    expect(first?.events).toEqual([]);
    expect(second?.events.map((e) => e.id)).toEqual(['debenhams:UL-A:confirmed']);
  });
});

describe('records missing what we need', () => {
  it('an order without a customer is an identity.missing exception naming the order', () => {
    const result = orderFacts(rawOrder('NC-A', { customer: null }), undefined, ctx);
    expect(result.events).toEqual([]);
    expect(result.snapshot).toBeUndefined();
    expect(result.exception).toMatchObject({ type: 'identity.missing', marketplace: 'debenhams', ref: 'NC-A' });
  });

  it('an order without order_id is an order.malformed exception naming the field', () => {
    const { order_id: _omitted, ...noId } = rawOrder('M-A');
    const result = orderFacts(noId, undefined, ctx);
    expect(result.exception).toMatchObject({ type: 'order.malformed', ref: '(no order_id)' });
    expect(result.exception?.reason).toContain('order_id');
  });

  it('unparseable dates and missing currency are malformed, with the field named', () => {
    expect(orderFacts(rawOrder('BD-A', { created_date: 'yesterday' }), undefined, ctx).exception?.reason).toContain('created_date');
    expect(orderFacts(rawOrder('BC-A', { currency_iso_code: null }), undefined, ctx).exception?.reason).toContain('currency_iso_code');
  });

  it('nulls where the vendor example puts them, and unknown fields, are tolerated', () => {
    const order = rawOrder('T-A', { channel: null, price: null, commercial_id: null, surprise_field: { nested: true } });
    order.order_lines.push(rawLine('T-A', 3, { product_medias: null, refunds: null, cancelations: null, offer_sku: null }));
    const result = orderFacts(order, undefined, ctx);
    expect(result.exception).toBeUndefined();
    expect(result.events[0]?.detail).toMatchObject({ order: { channel: null, subtotal: 0, lines: expect.any(Array) } });
  });
});

describe('buyer identity and the relay e-mail policy', () => {
  it('keys the buyer as mirakl:{marketplace}:{customer_id}', () => {
    const event = orderFacts(rawOrder('ID-A'), undefined, ctx).events[0];
    expect(event?.detail).toMatchObject({ order: { buyer: { identity: 'mirakl:debenhams:C-1001', customerId: 'C-1001' } } });
  });

  it('policy transactional carries the relay address; policy never drops it', () => {
    const order = rawOrder('RE-A');
    const kept = orderFacts(order, undefined, ctx).events[0];
    const dropped = orderFacts(order, undefined, { marketplace: decathlon, component: 'poller' }).events[0];
    expect(kept?.detail).toMatchObject({ order: { buyer: { relayEmail: 'q7k2m9x1ab.c0d3@notification.mirakl.net' } } });
    expect(dropped?.detail).toMatchObject({ order: { buyer: { relayEmail: null, identity: 'mirakl:decathlon:C-1001' } } });
  });

  it('an address that does not match the relay patterns is never carried', () => {
    const event = orderFacts(rawOrder('NR-A', { customer_notification_email: 'jane@example.com' }), undefined, ctx).events[0];
    expect(event?.detail).toMatchObject({ order: { buyer: { relayEmail: null } } });
  });
});
