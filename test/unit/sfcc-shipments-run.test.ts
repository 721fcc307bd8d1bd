import { describe, expect, it } from 'vitest';
import { businessEvent, eventIds, type BusinessEvent } from '../../functions/shared/events';
import { SHIPMENTS_CURSOR, runShipmentsRead } from '../../functions/shared/sfcc/shipmentsRun';
import type { DispatchedPage } from '../../functions/shared/sfcc/shipments';

const shipment = (orderId: string) =>
  businessEvent('Shipment Dispatched', {
    schemaVersion: 1,
    eventId: eventIds.shipmentDispatched('debenhams', orderId, 'me-1'),
    marketplace: 'debenhams',
    occurredAt: '2026-11-22T10:00:00.000Z',
    orderId,
    shipmentId: 'me-1',
    carrier: 'Royal Mail',
    trackingNumber: 'TT123456789GB',
    trackingUrl: null,
    lines: [{ lineId: `${orderId}-1`, quantity: 1 }],
  });

function harness(page: DispatchedPage, options: { cursor?: string; publishFails?: boolean } = {}) {
  const cursors = new Map<string, string>(options.cursor ? [[SHIPMENTS_CURSOR, options.cursor]] : []);
  const published: BusinessEvent[] = [];
  const reads: string[] = [];
  const deps = {
    reader: {
      dispatchedSince: async (from: string) => {
        reads.push(from);
        return page;
      },
    },
    cursors: {
      readCursor: async (key: string) => cursors.get(key),
      advanceCursor: async (key: string, from: string | undefined, to: string) => {
        if (cursors.get(key) !== from) return false;
        cursors.set(key, to);
        return true;
      },
    },
    publisher: {
      publish: async (events: readonly BusinessEvent[]) => {
        if (options.publishFails) throw new Error('PutEvents failed');
        published.push(...events);
      },
    },
    now: () => new Date('2026-11-22T12:00:00.000Z'),
  };
  return { deps, cursors, published, reads };
}

describe('scheduled SFCC shipments read', () => {
  it('starts 24 hours back on a new deployment, publishes the shipments, then moves the cursor', async () => {
    const h = harness({ events: [shipment('A'), shipment('B')], cursor: '2026-11-22T11:58:00.000Z', complete: true });
    const result = await runShipmentsRead(h.deps);
    expect(h.reads).toEqual(['2026-11-21T12:00:00.000Z']);
    expect(h.published.map((e) => e.detail.eventId)).toEqual([eventIds.shipmentDispatched('debenhams', 'A', 'me-1'), eventIds.shipmentDispatched('debenhams', 'B', 'me-1')]);
    expect(h.cursors.get(SHIPMENTS_CURSOR)).toBe('2026-11-22T11:58:00.000Z');
    expect(result).toEqual({ from: '2026-11-21T12:00:00.000Z', events: 2, cursor: '2026-11-22T11:58:00.000Z', complete: true });
  });

  it('reads from the cursor; nothing new leaves it where it is', async () => {
    const h = harness({ events: [], cursor: undefined, complete: true }, { cursor: '2026-11-22T11:00:00.000Z' });
    await runShipmentsRead(h.deps);
    expect(h.reads).toEqual(['2026-11-22T11:00:00.000Z']);
    expect(h.cursors.get(SHIPMENTS_CURSOR)).toBe('2026-11-22T11:00:00.000Z');
  });

  it('keeps the cursor when the events could not all be published, so the next run reads them again', async () => {
    const h = harness({ events: [shipment('A')], cursor: '2026-11-22T11:58:00.000Z', complete: true }, { cursor: '2026-11-22T11:00:00.000Z', publishFails: true });
    await expect(runShipmentsRead(h.deps)).rejects.toThrow('PutEvents failed');
    expect(h.cursors.get(SHIPMENTS_CURSOR)).toBe('2026-11-22T11:00:00.000Z');
  });
});
