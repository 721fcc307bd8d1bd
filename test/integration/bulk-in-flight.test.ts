/**
 * A history batch keeps several async imports/upserts in flight at once (`historyInFlight`), against the Dotdigital
 * and SFMC sandboxes: never more than the bound, Dotdigital contacts imported before their own insight data, a
 * failing chunk failing the batch only once every chunk has settled (leases held until then), and every SFMC call
 * still under the pacer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inFlight } from '../../functions/shared/connector/inFlight';
import { InMemoryLeaseStore } from '../../functions/shared/connector/lease';
import { createDotdigitalConnector } from '../../functions/shared/dotdigital/connector';
import type { BusinessEvent } from '../../functions/shared/events';
import { type HttpClient, type HttpRequest, createHttpClient } from '../../functions/shared/http';
import { CollectingExceptions } from '../../functions/shared/ingest/memory';
import { createSfmcConnector } from '../../functions/shared/sfmc/connector';
import { MemoryJourneyLedger } from '../../functions/shared/sfmc/journeyLedger';
import { sfmcPacer } from '../../functions/shared/sfmc/pacing';
import { sfmcSettings } from '../../functions/shared/sfmc/requests';
import { DOTDIGITAL_SANDBOX_PASSWORD, DOTDIGITAL_SANDBOX_USER, startDotdigitalSandbox } from '../../local/sandboxes/dotdigital';
import { SFMC_SANDBOX_CLIENT, startSfmcSandbox } from '../../local/sandboxes/sfmc';
import { dotdigitalConfig } from '../support/dotdigitalFixtures';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { sfmcConfig } from '../support/sfmcFixtures';

type Json = Record<string, unknown>;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const quickSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));

/** Counts async jobs between their submission and the status poll that saw them done. */
function tracking(http: HttpClient, submits: RegExp, polls: RegExp, done: (status: Json) => boolean) {
  const open = new Set<string>();
  const seen = { maxOpen: 0, log: [] as { request: HttpRequest; json: Json }[] };
  const client: HttpClient = {
    async request(request) {
      const response = await http.request(request);
      const json = (response.json ?? {}) as Json;
      seen.log.push({ request, json });
      if (submits.test(request.operation)) {
        open.add(String(json.importId ?? json.requestId));
        seen.maxOpen = Math.max(seen.maxOpen, open.size);
      } else if (polls.test(request.operation) && done(json)) {
        const id = /\/([^/]+?)(\/status)?$/.exec(String(request.url))?.[1] as string;
        open.delete(id);
      }
      return response;
    },
  };
  return { client, seen, open };
}

/** Confirmed facts of `count` orders, each of its own buyer. */
const confirmedOrders = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => orderLifeEvents('debenhams', `${prefix}${i}-A`, { backfill: true, customerId: `C-${prefix}${i}` })[0] as BusinessEvent);

describe('inFlight', () => {
  it('runs at most the bound at once, starts nothing after a failure and throws only once every started run settled', async () => {
    let running = 0;
    let most = 0;
    const settled: number[] = [];
    const run = async (n: number) => {
      running += 1;
      most = Math.max(most, running);
      await quickSleep(n === 2 ? 1 : 5);
      running -= 1;
      settled.push(n);
      if (n === 2) throw new Error('chunk 2 failed');
    };
    await expect(inFlight([1, 2, 3, 4, 5, 6], 3, run)).rejects.toThrow('chunk 2 failed');
    expect(most).toBe(3);
    // 1 and 3 were running when 2 failed: the failure waited for them; 4–6 never started.
    expect(settled.sort()).toEqual([1, 2, 3]);
    expect(running).toBe(0);
  });
});

describe('Dotdigital history batch in chunks', () => {
  async function rig(historyInFlight: number) {
    const sandbox = await startDotdigitalSandbox();
    closers.push(() => sandbox.close());
    const base = createHttpClient({ timeoutMs: 2_000, sleep: quickSleep });
    const tracked = tracking(base, /import(Contacts|Insight)$/, /ImportStatus$/, (s) => s.status === 'Finished' || s.status === 'Complete');
    const leases = new InMemoryLeaseStore();
    const connector = createDotdigitalConnector({
      config: dotdigitalConfig({ baseUrl: sandbox.url, historyInFlight }),
      http: tracked.client,
      credentials: async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD }),
      leases,
      poll: { intervalMs: 1, timeoutMs: 5_000 },
      sleep: quickSleep,
    });
    return { sandbox, connector, leases, ...tracked };
  }

  it('imports up to the bound at once, each chunk’s contacts finished before its insight import, nothing duplicated', async () => {
    const r = await rig(2);
    // 2,100 buyers: three chunks of at most 1,000 (one import's maximum), two in flight.
    await r.connector.deliverMany?.(confirmedOrders(2_100, 'K'));
    expect(r.seen.maxOpen).toBe(2);
    // Contacts count as imported once a status poll saw their import finished.
    const imported = new Set<string>();
    const contactsOf = new Map<string, string[]>();
    let insightImports = 0;
    for (const { request, json } of r.seen.log) {
      const body = typeof request.body === 'string' ? (JSON.parse(request.body) as Json) : {};
      if (request.operation === 'dotdigital.importContacts') {
        const values = (body.contacts as { identifiers: Record<string, string> }[]).map((c) => Object.values(c.identifiers)[0] as string);
        expect(new Set(values).size).toBe(values.length);
        contactsOf.set(String(json.importId), values);
      }
      if (request.operation === 'dotdigital.contactImportStatus' && json.status === 'Finished') {
        for (const value of contactsOf.get(String(json.importId)) ?? []) imported.add(value);
      }
      if (request.operation === 'dotdigital.importInsight') {
        insightImports += 1;
        const records = body.records as { key: string; contactIdentity: { value: string } }[];
        expect(new Set(records.map((x) => x.key)).size).toBe(records.length);
        expect(records.every((x) => imported.has(x.contactIdentity.value))).toBe(true);
      }
    }
    expect(insightImports).toBe(3);
    expect(r.sandbox.store.recordsIn('Orders')).toHaveLength(2_100);
    expect(r.leases.held.size).toBe(0);
  });

  it('a chunk whose import rejects a record fails the batch only once the other chunks settled, then frees the leases', async () => {
    const r = await rig(3);
    await r.connector.deliverMany?.(confirmedOrders(1, 'S'));
    const events = confirmedOrders(1_500, 'F');
    // In the second chunk: the collection's schema (fixed by the first record) wants a number.
    ((events[1_200] as BusinessEvent<'Order Confirmed'>).detail.order as { total: unknown }).total = 'a lot';
    let leasesAtFailure = -1;
    const leaseCount = () => r.leases.held.size;
    await expect(
      r.connector.deliverMany?.(events).catch((error: unknown) => {
        leasesAtFailure = leaseCount();
        throw error;
      }),
    ).rejects.toThrow(/JsonValueIncompatibleWithSchema/);
    expect(r.open.size).toBe(0);
    expect(leasesAtFailure).toBe(0);
    // The first chunk completed: its records landed.
    expect(r.sandbox.store.recordsIn('Orders').length).toBeGreaterThanOrEqual(1_000);
  });
});

describe('SFMC history batch: upserts in flight together', () => {
  async function rig(historyInFlight: number, options: { budget?: number; connector?: Record<string, unknown> } = {}) {
    const sandbox = await startSfmcSandbox();
    closers.push(() => sandbox.close());
    const config = sfmcConfig({
      baseUrl: sandbox.url,
      historyInFlight,
      ...(options.budget ? { requestsPerMinute: options.budget } : {}),
      ...options.connector,
    });
    // The pacer's clock is simulated: each of its waits moves it on, so a minute's budget is checked in milliseconds.
    let now = Date.parse('2026-11-22T10:00:00Z');
    const times: number[] = [];
    // Times are taken as each attempt goes out, after its pacer turn.
    const base = createHttpClient({ timeoutMs: 2_000, sleep: quickSleep, fetch: (input, init) => (times.push(now), fetch(input, init)) });
    const tracked = tracking(
      base,
      /asyncUpsert$/,
      /asyncStatus$/,
      (s) => (s.status as Json | undefined)?.requestStatus === 'Complete',
    );
    const connector = createSfmcConnector({
      config,
      http: tracked.client,
      credentials: async () => SFMC_SANDBOX_CLIENT,
      journeys: new MemoryJourneyLedger(),
      exceptions: new CollectingExceptions(),
      poll: { intervalMs: 1, timeoutMs: 5_000 },
      sleep: quickSleep,
      pacer: sfmcPacer(sfmcSettings(config), { now: () => now, sleep: async (ms) => void (now += ms) }, 1),
    });
    return { sandbox, connector, times, ...tracked };
  }

  it('keeps the batch’s upserts (one per data extension) in flight up to the bound', async () => {
    for (const bound of [1, 2, 3]) {
      const r = await rig(bound);
      await r.connector.deliverMany?.(confirmedOrders(20, `U${bound}`));
      expect(r.seen.maxOpen).toBe(bound);
      expect(r.sandbox.rows.get('MarketBridge_Orders')?.size).toBe(20);
    }
  });

  it('row errors in one upsert fail the batch permanently once the others have settled', async () => {
    // Order rows sent to the customers extension: that upsert finishes with row errors, the two others complete.
    const r = await rig(3, { connector: { dataExtensions: { orders: 'MarketBridge_Customers' } } });
    await expect(r.connector.deliverMany?.(confirmedOrders(5, 'E'))).rejects.toThrow(/row errors: UnexpectedError/);
    expect(r.open.size).toBe(0);
    expect(r.sandbox.rows.get('MarketBridge_OrderLines')?.size).toBeGreaterThan(0);
  });

  it('every call still takes its turn under the pacer: no minute holds more than the budget', async () => {
    const r = await rig(3, { budget: 10 });
    for (let batch = 0; batch < 3; batch += 1) await r.connector.deliverMany?.(confirmedOrders(10, `P${batch}-`));
    const rest = r.times.slice(1); // the token request is not paced
    expect(rest.length).toBeGreaterThan(20);
    for (const [i, t] of rest.entries()) expect(rest.filter((u, j) => j >= i && u < t + 60_000).length).toBeLessThanOrEqual(9);
  });
});
