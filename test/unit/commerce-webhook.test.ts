/**
 * SFCC callbacks on the webhook: `shipment.dispatched` and `stock.changed` become SFCC business events with
 * deterministic ids; bad bodies are 400, a bus failure 503 (the sender retries).
 */
import { describe, expect, it } from 'vitest';
import { sandboxConfig } from '../../functions/shared/config';
import type { BusinessEvent } from '../../functions/shared/events';
import { MemoryState } from '../../functions/shared/ingest/memory';
import { acceptWebhook } from '../../functions/shared/webhook/acceptWebhook';
import { signWebhook } from '../../functions/shared/webhook/signature';

const SECRET = 'test-signing-secret-not-real';
const NOW_MS = Date.parse('2026-11-22T12:00:00Z');

function setup(fail = false) {
  const published: BusinessEvent[] = [];
  const deps = {
    config: sandboxConfig,
    signingSecret: async () => SECRET,
    pending: new MemoryState(),
    publisher: {
      publish: async (events: readonly BusinessEvent[]) => {
        if (fail) throw new Error('PutEvents failed for 1 event(s)');
        published.push(...events);
      },
    },
    nowMs: () => NOW_MS,
    log: { info: () => undefined, warn: () => undefined },
  };
  const post = (body: unknown) => {
    const raw = JSON.stringify(body);
    return acceptWebhook({ method: 'POST', headers: signWebhook(raw, SECRET, Math.floor(NOW_MS / 1000)), rawBody: raw }, deps);
  };
  return { post, published };
}

const shipment = {
  type: 'shipment.dispatched',
  marketplace: 'decathlon',
  orderId: 'DKT-2401-A',
  shipmentId: 'SH-77',
  carrier: 'La Poste Colissimo',
  trackingNumber: '6A12345678901',
  occurredAt: '2026-11-22T11:58:00Z',
  lines: [{ lineId: 'DKT-2401-A-1', quantity: 1 }],
};

describe('SFCC callbacks', () => {
  it('a shipment becomes one Shipment Dispatched with its deterministic id', async () => {
    const { post, published } = setup();
    const response = await post(shipment);
    expect(response).toEqual({ statusCode: 202, body: { published: 1 } });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      id: 'decathlon:DKT-2401-A:dispatched:SH-77',
      source: 'marketbridge.sfcc',
      detailType: 'Shipment Dispatched',
      detail: { orderId: 'DKT-2401-A', carrier: 'La Poste Colissimo', trackingUrl: null, marketplace: 'decathlon' },
    });
  });

  it('a stock change becomes one Stock Changed per marketplace, or per listed marketplace', async () => {
    const { post, published } = setup();
    const change = { type: 'stock.changed', id: 'chg-1', occurredAt: '2026-11-22T11:59:00Z', items: [{ productId: 'P-1', availableToSell: 4 }] };
    expect((await post(change)).statusCode).toBe(202);
    expect(published.map((e) => e.id)).toEqual(['debenhams:stock-changed:chg-1', 'decathlon:stock-changed:chg-1']);
    expect(published.every((e) => e.source === 'marketbridge.sfcc' && e.detailType === 'Stock Changed')).toBe(true);
    await post({ ...change, id: 'chg-2', marketplaces: ['decathlon'] });
    expect(published.map((e) => e.id).slice(2)).toEqual(['decathlon:stock-changed:chg-2']);
  });

  it('rejects unknown marketplaces, missing lines and negative stock with 400', async () => {
    const { post, published } = setup();
    expect((await post({ ...shipment, marketplace: 'amazon' })).statusCode).toBe(400);
    expect((await post({ ...shipment, lines: [] })).statusCode).toBe(400);
    expect((await post({ type: 'stock.changed', id: 'x', occurredAt: '2026-11-22T11:59:00Z', marketplaces: ['amazon'], items: [{ productId: 'P', availableToSell: 1 }] })).statusCode).toBe(400);
    expect((await post({ type: 'stock.changed', id: 'x', occurredAt: '2026-11-22T11:59:00Z', items: [{ productId: 'P', availableToSell: -1 }] })).statusCode).toBe(400);
    expect(published).toEqual([]);
  });

  it('answers 503 when the bus refuses, so the sender retries', async () => {
    const { post } = setup(true);
    expect((await post(shipment)).statusCode).toBe(503);
  });
});
