/**
 * SFCC shipments read back as `Shipment Dispatched` events: marketplace orders only, shipped shipments with a
 * tracking number, the carrier from the shipment attribute (else the shipping method), lines by Mirakl line id;
 * the request validates against SCAPI's getOrders and the sandbox's page against OrdersResponse.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../functions/shared/http';
import { SfccTokens } from '../../functions/shared/sfcc/auth';
import { createSfccOrdersConnector } from '../../functions/shared/sfcc/connector';
import { createShipmentsReader } from '../../functions/shared/sfcc/shipments';
import { type SfccSandbox, startSfccSandbox } from '../../local/sandboxes/sfcc';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';
import { fixedSkuMap, sandboxSecret, sfccConfig, sfccOrderEvents } from '../support/sfccFixtures';

let sandbox: SfccSandbox;
let now: number;
beforeEach(async () => {
  now = Date.parse('2026-11-22T10:00:00Z');
  sandbox = await startSfccSandbox({ now: () => now });
  const config = sfccConfig(sandbox.url);
  const connector = createSfccOrdersConnector({ config, http: createHttpClient(), secret: sandboxSecret, skuMap: () => fixedSkuMap() });
  for (const id of ['SH1-A', 'SH2-A', 'SH3-A']) await connector.deliverOne(sfccOrderEvents('debenhams', id)[0]!);
  sandbox.store.createOrder('RefArch', { ...sandbox.store.orders.get('RefArch\u0000debenhams-SH3-A')!.request, orderNo: 'WEB-1', c_miraklOrderId: undefined, c_miraklMarketplace: undefined } as never);
  now += 60_000;
  sandbox.store.ship('RefArch', 'debenhams-SH1-A', 'marketplace', 'RM123456789GB', { c_carrierCode: 'Royal Mail', c_trackingUrl: 'https://track.example/RM123456789GB' });
  sandbox.store.ship('RefArch', 'debenhams-SH2-A', 'marketplace', 'DPD0001');
  sandbox.store.ship('RefArch', 'WEB-1', 'marketplace', 'IGNORED');
});
afterEach(async () => {
  await sandbox.close();
});

const reader = () => createShipmentsReader({ sfcc: sfccConfig(sandbox.url).sfcc!, http: createHttpClient(), secret: sandboxSecret });

describe('shipments reader', () => {
  it('turns shipped marketplace shipments into Shipment Dispatched events', async () => {
    const page = await reader().dispatchedSince('2026-11-22T10:00:30.000Z');
    expect(page.complete).toBe(true);
    expect(page.cursor).toBe('2026-11-22T10:01:00.000Z');
    expect(page.events.map((e) => e.detail)).toEqual([
      expect.objectContaining({
        eventId: 'debenhams:SH1-A:dispatched:marketplace',
        marketplace: 'debenhams',
        orderId: 'SH1-A',
        carrier: 'Royal Mail',
        trackingNumber: 'RM123456789GB',
        trackingUrl: 'https://track.example/RM123456789GB',
        lines: [
          { lineId: 'SH1-A-1', quantity: 1 },
          { lineId: 'SH1-A-2', quantity: 1 },
        ],
      }),
      expect.objectContaining({ orderId: 'SH2-A', carrier: 'MARKETPLACE', trackingUrl: null }),
    ]);
    expect(page.events[0]?.source).toBe('marketbridge.sfcc');
  });

  it('reads nothing modified before the cursor', async () => {
    expect((await reader().dispatchedSince('2026-11-22T10:05:00.000Z')).events).toEqual([]);
  });
});

describeWithSpec('sfcc/orders-oas-v1-public.yaml', 'getOrders contract', (spec) => {
  it("the reader's request and the sandbox's page validate", async () => {
    const sent: URL[] = [];
    const recording: typeof fetch = (input, init) => {
      sent.push(new URL(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    const sfcc = sfccConfig(sandbox.url).sfcc!;
    const http = createHttpClient({ fetch: recording });
    const tokens = new SfccTokens({ sfcc, http, secret: sandboxSecret });
    await createShipmentsReader({ sfcc, http, secret: sandboxSecret, tokens }).dispatchedSince('2026-11-22T10:00:30.000Z');
    const url = sent.find((u) => u.pathname.endsWith('/orders'))!;
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length > 1 ? values : (values[0] as string);
    }
    expect(validateRequest(spec, 'GET', '/organizations/{organizationId}/orders', { query })).toEqual([]);
    const response = await fetch(url, { headers: { authorization: `Bearer ${await tokens.get('am')}` } });
    const body = (await response.json()) as { data: unknown[] };
    expect(validateResponse(spec, 'GET', '/organizations/{organizationId}/orders', 200, body)).toEqual([]);
    expect(body.data).toHaveLength(3);
  });
});
