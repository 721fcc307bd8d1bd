/**
 * The mirakl-tracking connector against the Mirakl sandbox: carrier translated (SH21 seeding at most once a
 * day, shared by a batch's records, retried early only when its call was cut off; configured and manual mappings),
 * OR23 then OR24, unknown carriers as exceptions with nothing sent,
 * duplicates (one OR24), 429/5xx, and ST01 on multi-shipment marketplaces.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CarrierMap } from '../../functions/shared/commerce/mappings';
import { createTrackingConnector } from '../../functions/shared/commerce/trackingConnector';
import { type ConfigInput, sandboxConfigInput } from '../../functions/shared/config';
import { type BusinessEvent, businessEvent, eventIds } from '../../functions/shared/events';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../../functions/shared/connector/runtime';
import { UNCERTAIN_RETRY } from '../../functions/shared/mirakl/callFrequency';
import { type CommerceHarness, startCommerceHarness } from '../support/commerceHarness';

const MP = 'debenhams';
let h: CommerceHarness;

afterEach(async () => {
  await h?.close();
});

function connector() {
  return createTrackingConnector({ config: h.config, mirakl: h.mirakl, mappings: h.mappings, guard: h.guard, log: h.log });
}

/** A SHIPPING sandbox order and the SFCC shipment of all its lines. */
function shippingOrder(carrier: string, shipmentId = 'SH-1'): { orderId: string; event: BusinessEvent<'Shipment Dispatched'> } {
  const order = h.sandbox.world.createOrder(MP, { state: 'WAITING_ACCEPTANCE', lines: [{ offerSku: 'DB-KET-6001-SLV', quantity: 1 }, { offerSku: 'DB-BED-3301-DBL', quantity: 2 }] });
  h.sandbox.world.accept(MP, order.order_id);
  h.sandbox.world.debit(MP, order.order_id);
  return { orderId: order.order_id, event: dispatched(order.order_id, carrier, order.order_lines.map((l) => ({ lineId: l.order_line_id, quantity: l.quantity })), shipmentId) };
}

function dispatched(orderId: string, carrier: string, lines: { lineId: string; quantity: number }[], shipmentId: string) {
  return businessEvent('Shipment Dispatched', {
    schemaVersion: 1,
    eventId: eventIds.shipmentDispatched(MP, orderId, shipmentId),
    marketplace: MP,
    occurredAt: h.now().toISOString(),
    orderId,
    shipmentId,
    carrier,
    trackingNumber: 'TT123456789GB',
    trackingUrl: null,
    lines,
  });
}

const withMarketplace = (change: Record<string, unknown>): Partial<ConfigInput> => ({
  marketplaces: sandboxConfigInput.marketplaces.map((mp) => (mp.id === MP ? { ...mp, ...change } : mp)),
});

describe('mirakl-tracking', () => {
  it('seeds the carrier map from SH21, then sends OR23 with the Mirakl code and tracking, then OR24', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Royal Mail');
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([]);
    expect(h.calls('SH21')).toHaveLength(1);
    expect(h.sandbox.requests.filter((r) => r.operation === 'OR23' || r.operation === 'OR24').map((r) => `${r.operation} ${r.status}`)).toEqual(['OR23 204', 'OR24 204']);
    const order = h.sandbox.world.get(MP, orderId);
    expect(order).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'ROYAL_MAIL', shipping_tracking: 'TT123456789GB' });
  });

  it('an unknown carrier is an exception naming it; the order is not marked shipped', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Pigeon Post Express');
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    expect(h.calls('OR23')).toEqual([]);
    expect(h.calls('OR24')).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPING');
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'carrier.unknown', owner: 'operations', marketplace: MP, ref: orderId });
    expect(exception?.reason).toContain('carrier "Pigeon Post Express" has no Mirakl carrier code');
  });

  it('asks SH21 at most once a day however many carriers are unknown', async () => {
    h = await startCommerceHarness();
    const first = shippingOrder('Pigeon Post', 'A');
    const second = shippingOrder('Owl Mail', 'B');
    await h.deliver('mirakl-tracking', connector(), [first.event]);
    await h.deliver('mirakl-tracking', connector(), [second.event]);
    expect(h.calls('SH21')).toHaveLength(1);
    h.advance(24 * 3_600_000);
    await h.deliver('mirakl-tracking', connector(), [second.event], 2);
    expect(h.calls('SH21')).toHaveLength(2);
  });

  it('an SH21 cut off mid-call is retried by the redelivery after the short back-off and ships the order, instead of a day of carrier.unknown', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.resetConnection({ operation: 'SH21', times: 1 });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    expect(await h.exceptions()).toEqual([]);
    h.advance(UNCERTAIN_RETRY.afterMs);
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.calls('SH21').map((c) => c.status)).toEqual([0, 200]);
    expect(h.sandbox.world.get(MP, orderId)).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'ROYAL_MAIL' });
    expect(await h.exceptions()).toEqual([]);
  });

  it('shipments of one batch with unmapped carriers share one SH21 read and all ship', async () => {
    h = await startCommerceHarness();
    const orders = ['A', 'B', 'C'].map((id) => shippingOrder('Royal Mail', id));
    expect(await h.deliver('mirakl-tracking', connector(), orders.map((o) => o.event))).toEqual([]);
    expect(h.calls('SH21')).toHaveLength(1);
    for (const { orderId } of orders) {
      expect(h.sandbox.world.get(MP, orderId)).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'ROYAL_MAIL' });
    }
    expect(await h.exceptions()).toEqual([]);
  });

  it('an SH21 cut off on the last receive leaves a carrier.unknown, not a generic delivery failure', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.resetConnection({ operation: 'SH21', times: 1 });
    expect(await h.deliver('mirakl-tracking', connector(), [event], DEFAULT_MAX_RECEIVE_COUNT)).toEqual([0]);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'carrier.unknown', ref: orderId });
    expect(exception?.reason).toMatch(/^gave up after 5 receives: carrier "Royal Mail" is not in the carrier map and Mirakl's carrier list could not be read/);
    expect(exception?.reason).toContain('once SH21 may be called again (in at most 5 min)');
  });

  it('an SH21 answered with a 5xx is sent once and counts: carrier.unknown says why, and the retry a day later ships the order', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.inject({ operation: 'SH21', status: 503, times: 1 });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    expect(h.calls('SH21').map((c) => c.status)).toEqual([503]);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'carrier.unknown', ref: orderId });
    expect(exception?.reason).toContain("Mirakl's carrier list could not be read (SH21 failed, HTTP 503");
    expect(exception?.reason).toContain('retry the record once SH21 may be called again (in at most 24 h)');
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPING');
    h.advance(24 * 3_600_000);
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.calls('SH21').map((c) => c.status)).toEqual([503, 200]);
    expect(h.sandbox.world.get(MP, orderId)).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'ROYAL_MAIL' });
  });

  it('a person maps the carrier and the redriven record ships the order', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Warehouse Courier 3');
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    await new CarrierMap(h.mappings, MP).set('Warehouse Courier 3', 'EVRI');
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)).toMatchObject({ order_state: 'SHIPPED', shipping_carrier_code: 'EVRI' });
  });

  it('the configured carrier map wins, without calling SH21', async () => {
    h = await startCommerceHarness(withMarketplace({ carrierMap: { 'RM Tracked 48': 'ROYAL_MAIL' } }));
    const { orderId, event } = shippingOrder('rm tracked 48');
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([]);
    expect(h.calls('SH21')).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.shipping_carrier_code).toBe('ROYAL_MAIL');
  });

  it('duplicate deliveries make one OR24', async () => {
    h = await startCommerceHarness();
    const { event } = shippingOrder('DPD UK');
    await h.deliver('mirakl-tracking', connector(), [event, event]);
    await h.deliver('mirakl-tracking', connector(), [event], 2);
    await h.deliver('mirakl-tracking', connector(), [event], 1);
    expect(h.calls('OR24').filter((c) => c.status === 204)).toHaveLength(1);
  });

  it('an OR24 retried after the order was shipped elsewhere is done, not a failure', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Evri');
    // OR24 fails through its retries; before SQS redelivers, the order gets shipped (as when an answer was lost).
    h.sandbox.faults.inject({ operation: 'OR24', status: 500, times: 4 });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    h.sandbox.world.ship(MP, orderId);
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.log.lines).toContain('order already shipped; nothing to do');
    expect(await h.exceptions()).toEqual([]);
  });

  it('rides out 429 and 5xx on OR23 and OR24', async () => {
    h = await startCommerceHarness();
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.inject({ operation: 'OR23', status: 429, retryAfterSeconds: 1, times: 1 });
    h.sandbox.faults.inject({ operation: 'OR24', status: 502, times: 2 });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPED');
  });

  it('multi-shipment marketplaces get one ST01 shipment per SFCC shipment, partial parcels included', async () => {
    h = await startCommerceHarness(withMarketplace({ multiShipment: true }));
    const { orderId, event } = shippingOrder('Royal Mail');
    const [first, second] = event.detail.lines;
    const parcel = (lines: typeof event.detail.lines, id: string) => dispatched(orderId, 'Royal Mail', lines, id);
    expect(await h.deliver('mirakl-tracking', connector(), [parcel([first!], 'P1')])).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPING');
    expect(await h.deliver('mirakl-tracking', connector(), [parcel([second!], 'P2')])).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPED');
    expect(h.calls('ST01')).toHaveLength(2);
    expect(h.calls('OR23')).toEqual([]);
    expect(h.calls('OR24')).toEqual([]);
  });

  it('ST01 is sent once per delivery: a 5xx fails the record for SQS to retry, never a second shipment in-process', async () => {
    h = await startCommerceHarness(withMarketplace({ multiShipment: true }));
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.inject({ operation: 'ST01', status: 503, times: 1 });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    expect(h.calls('ST01').map((c) => c.status)).toEqual([503]);
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPED');
  });

  it('ST01 applied but its answer lost: the retry finds the order shipped and is done, with no exception', async () => {
    h = await startCommerceHarness(withMarketplace({ multiShipment: true }));
    const { orderId, event } = shippingOrder('Royal Mail');
    h.sandbox.faults.resetConnection({ operation: 'ST01', times: 1, afterEffect: true });
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    expect(h.sandbox.world.get(MP, orderId)?.order_state).toBe('SHIPPED');
    expect(await h.deliver('mirakl-tracking', connector(), [event], 2)).toEqual([]);
    expect(h.calls('ST01').map((c) => c.status)).toEqual([201, 201]);
    expect(await h.exceptions()).toEqual([]);
  });

  it('a shipment ST01 rejects is a permanent failure with Mirakl\'s reason', async () => {
    h = await startCommerceHarness(withMarketplace({ multiShipment: true }));
    const { orderId } = shippingOrder('Royal Mail');
    const event = dispatched(orderId, 'Royal Mail', [{ lineId: `${orderId}-9`, quantity: 1 }], 'P9');
    expect(await h.deliver('mirakl-tracking', connector(), [event])).toEqual([0]);
    const [exception] = await h.exceptions();
    expect(exception).toMatchObject({ type: 'delivery.failed', ref: orderId });
    expect(exception?.reason).toContain('ST01 rejected 1 shipment(s)');
  });
});
