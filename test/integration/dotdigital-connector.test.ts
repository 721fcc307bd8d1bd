/**
 * The Dotdigital connector against the Dotdigital sandbox over loopback HTTP: region discovery, account setup,
 * list and consent rules as Dotdigital would show them, marketing gating on the contact's channel status, rate
 * limiting (tiered 429 with X-RateLimit-Reset, legacy 400), history loads through the async imports, and exactly
 * one effect per business fact under duplicates, reordering and lost acknowledgements.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError } from '../../functions/shared/http';
import type { OrderRecordJson } from '../../functions/shared/dotdigital/mapping';
import { SANDBOX_LISTS } from '../../local/sandboxes/dotdigital';
import { CONFIRMED_PROGRAMME, type DotdigitalRig, PRIVATE_LIST, startDotdigitalRig } from '../support/dotdigitalFixtures';
import { orderLifeEvents } from '../support/klaviyoFixtures';

const RELAY = 'q7k2m9x1ab.c0d3@notification.mirakl.net';
let rig: DotdigitalRig;
afterEach(async () => {
  await rig?.close();
});

const routes = (r: DotdigitalRig) => r.sandbox.requests.map((q) => q.route);
const record = (r: DotdigitalRig, key: string) => r.sandbox.store.recordsIn('Orders').find((x) => x.key === key)?.json as OrderRecordJson | undefined;

async function deliverAll(r: DotdigitalRig, events: BusinessEvent[]) {
  for (const event of events) await r.connector.deliverOne(event);
}

describe('Dotdigital connector: region, setup and the shape of what lands', () => {
  it('discovers the region once, sets the account up once, and sends everything else to the account region', async () => {
    rig = await startDotdigitalRig({ sandbox: { region: 'r3' } });
    await deliverAll(rig, [...orderLifeEvents('debenhams', 'D1-A'), ...orderLifeEvents('decathlon', 'D2-A')]);
    const requests = rig.sandbox.requests;
    expect(routes(rig).filter((r) => r === 'accountInfo')).toHaveLength(1);
    expect(requests.filter((r) => r.route !== 'accountInfo').every((r) => r.path.startsWith('/r3/'))).toBe(true);
    for (const setup of ['listCustomIdentifiers', 'listDataFields', 'createCollection']) {
      expect(routes(rig).filter((r) => r === setup)).toHaveLength(1);
    }
    expect([...rig.sandbox.store.dataFields.keys()]).toEqual(expect.arrayContaining(['MIRAKL_ID', 'MARKETPLACE', 'MARKETING_ALLOWED']));
    expect(rig.sandbox.store.customIdentifiers.has('mirakl_id')).toBe(true);
  });

  it('an account that moved region (403) is rediscovered once and the call goes on', async () => {
    rig = await startDotdigitalRig({ sandbox: { region: 'r2' } });
    const [confirmed, shipped] = orderLifeEvents('debenhams', 'D0-A') as [BusinessEvent, BusinessEvent];
    await rig.connector.deliverOne(confirmed);
    rig.sandbox.moveTo('r3');
    await rig.connector.deliverOne(shipped);
    expect(routes(rig).filter((r) => r === 'accountInfo')).toHaveLength(2);
    expect(rig.sandbox.requests.filter((r) => r.status === 403)).toHaveLength(1);
    expect(record(rig, 'debenhams:D0-A')?.order_status).toBe('SHIPPED');
  });

  it('the sandbox answers 403 on a wrong region and 401 on bad credentials, as Dotdigital does', async () => {
    rig = await startDotdigitalRig({ sandbox: { region: 'r2' } });
    const auth = (user: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:sandbox-password`).toString('base64')}` });
    const good = auth('apiuser-marketbridge@apiconnector.com');
    expect((await fetch(`${rig.sandbox.url}/v2/data-fields`, { headers: good })).status).toBe(403);
    expect((await fetch(`${rig.sandbox.apiEndpoint}/v2/data-fields`, { headers: good })).status).toBe(200);
    expect((await fetch(`${rig.sandbox.apiEndpoint}/v2/data-fields`, { headers: auth('someone-else') })).status).toBe(401);
    const invalid = await fetch(`${rig.sandbox.apiEndpoint}/contacts/v3/email/a%40b.example`, {
      method: 'PATCH',
      headers: { ...good, 'content-type': 'application/json' },
      body: JSON.stringify({ channelProperties: { email: { optInType: 'maybe' } } }),
    });
    expect(invalid.status).toBe(400);
  });

  it('buyers land in the private non-marketing list only, keyed by the channel identity, with no consent written', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, [...orderLifeEvents('debenhams', 'D3-A'), ...orderLifeEvents('decathlon', 'D4-A')]);
    const contacts = [...rig.sandbox.store.contacts.values()];
    expect(contacts.map((c) => c.identifiers.mirakl_id).sort()).toEqual(['mirakl:debenhams:C-1001', 'mirakl:decathlon:C-1001']);
    for (const contact of contacts) expect([...contact.lists]).toEqual([PRIVATE_LIST]);
    const marketing = SANDBOX_LISTS.filter((l) => l.marketing).map((l) => l.id);
    expect(contacts.some((c) => [...c.lists].some((l) => marketing.includes(l)))).toBe(false);
    expect(rig.sandbox.store.consentWrites).toBe(0);
    // Relay e-mail only under policy `transactional` (Debenhams); Decathlon (`never`) has none.
    expect(contacts.find((c) => c.identifiers.mirakl_id?.includes('debenhams'))?.identifiers.email).toBe(RELAY);
    expect(contacts.find((c) => c.identifiers.mirakl_id?.includes('decathlon'))?.identifiers.email).toBeUndefined();
  });

  it('a relay address another contact already holds (409) does not fail the buyer: the contact is written without it', async () => {
    rig = await startDotdigitalRig();
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'D6-A')[0] as BusinessEvent);
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'D7-A', { customerId: 'C-2' })[0] as BusinessEvent);
    const second = rig.sandbox.store.find('mirakl_id', 'mirakl:debenhams:C-2');
    expect(second?.identifiers.email).toBeUndefined();
    expect(rig.sandbox.requests.filter((r) => r.status === 409)).toHaveLength(1);
    expect(record(rig, 'debenhams:D7-A')).toBeDefined();
  });

  it('writes one orders record per order with net totals after the refund and cancellation', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, orderLifeEvents('debenhams', 'D5-A'));
    expect(rig.sandbox.store.recordsIn('Orders')).toHaveLength(1);
    expect(record(rig, 'debenhams:D5-A')).toMatchObject({ order_status: 'SHIPPED', refund_total: 26.5, cancelled_total: 25, net_total: 2.49, has_incident: true });
  });
});

describe('Dotdigital connector: marketing gating', () => {
  it('enrols a subscribed buyer of a marketplace that allows marketing, once, on the confirmed fact', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, orderLifeEvents('debenhams', 'G1-A'));
    expect(rig.sandbox.store.enrolments).toEqual([{ programId: CONFIRMED_PROGRAMME, contacts: [expect.any(Number)] }]);
  });

  it('a suppressed contact triggers nothing', async () => {
    rig = await startDotdigitalRig({ sandbox: { suppressedEmails: [RELAY] } });
    await deliverAll(rig, orderLifeEvents('debenhams', 'G2-A'));
    expect(rig.sandbox.store.enrolments).toEqual([]);
    expect(record(rig, 'debenhams:G2-A')).toBeDefined();
  });

  it('a forbidden marketplace (Decathlon) and an order with an open incident trigger nothing', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, orderLifeEvents('decathlon', 'G3-A'));
    const confirmed = structuredClone(orderLifeEvents('debenhams', 'G4-A')[0]) as BusinessEvent<'Order Confirmed'>;
    confirmed.detail.order.hasIncident = true;
    await rig.connector.deliverOne(confirmed);
    expect(rig.sandbox.store.enrolments).toEqual([]);
  });
});

describe('Dotdigital connector: rate limiting and faults', () => {
  it('a tiered 429 waits for X-RateLimit-Reset and succeeds', async () => {
    rig = await startDotdigitalRig();
    rig.sandbox.inject({ kind: 'status', status: 429, times: 2, retryAfterSeconds: 1, route: 'upsertContact' });
    await rig.connector.deliverOne(orderLifeEvents('debenhams', 'T1-A')[0] as BusinessEvent);
    const answered = rig.sandbox.requests.filter((r) => r.route === 'upsertContact').map((r) => r.status);
    expect(answered).toEqual([429, 429, 201]);
  });

  it("the legacy flat scheme's 400 ERROR_APIUSAGE_EXCEEDED is rate limiting: retryable, not a bad record", async () => {
    rig = await startDotdigitalRig({ sandbox: { rateScheme: { kind: 'flat', perHour: 5 } } });
    const error = await rig.connector.deliverOne(orderLifeEvents('debenhams', 'T2-A')[0] as BusinessEvent).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, retryable: true, rateLimited: true });
  });

  it('exactly one effect per fact under duplicates, reordering and lost acknowledgements', async () => {
    const events = orderLifeEvents('debenhams', 'X1-A');
    rig = await startDotdigitalRig();
    await deliverAll(rig, events);
    const expected = record(rig, 'debenhams:X1-A');
    await rig.close();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...events), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 2 }),
        async (extra, lostAcks) => {
          rig = await startDotdigitalRig();
          try {
            // Writes applied but their answers lost: the record goes back to the queue and is delivered again.
            if (lostAcks > 0) rig.sandbox.inject({ kind: 'timeout', afterEffect: true, times: lostAcks, route: 'putRecord' });
            for (const event of [...extra, ...events]) {
              await rig.connector.deliverOne(event).catch(() => rig.connector.deliverOne(event));
            }
            expect(record(rig, 'debenhams:X1-A')).toEqual(expected);
            expect(rig.sandbox.store.contacts.size).toBe(1);
          } finally {
            await rig.close();
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('Dotdigital connector: history loads', () => {
  it('use the async contact import then the async insight import, polled to completion, and enrol nobody', async () => {
    rig = await startDotdigitalRig({ sandbox: { importPolls: 2 } });
    const events = [...orderLifeEvents('debenhams', 'H1-A', { backfill: true }), ...orderLifeEvents('debenhams', 'H2-A', { backfill: true, customerId: 'C-2' })];
    await rig.connector.deliverMany?.(events);
    const writes = routes(rig).filter((r) => r !== 'contactImportStatus' && r !== 'insightImportStatus');
    expect(writes.slice(-2)).toEqual(['importContacts', 'importInsight']);
    expect(routes(rig).filter((r) => r === 'insightImportStatus')).toHaveLength(3);
    expect(rig.sandbox.store.contacts.size).toBe(2);
    expect(record(rig, 'debenhams:H1-A')).toMatchObject({ net_total: 2.49, order_status: 'SHIPPED' });
    expect(rig.sandbox.store.enrolments).toEqual([]);
  });

  it('an import carries over what earlier batches stored: a refund survives a later batch of the same order', async () => {
    rig = await startDotdigitalRig();
    const events = orderLifeEvents('debenhams', 'H4-A');
    const refund = events.find((e) => e.detailType === 'Order Refunded') as BusinessEvent;
    await rig.connector.deliverMany?.([refund]);
    await rig.connector.deliverMany?.(events.filter((e) => e !== refund));
    expect(record(rig, 'debenhams:H4-A')).toMatchObject({ refund_total: 26.5, cancelled_total: 25, net_total: 2.49 });
  });

  it('reads the stored collection a page at a time when that is cheaper than one read per record', async () => {
    rig = await startDotdigitalRig();
    const batch = (from: number) =>
      Array.from({ length: 5 }, (_, i) => orderLifeEvents('debenhams', `P${from + i}-A`, { backfill: true, customerId: `C-${from + i}` })[0] as BusinessEvent);
    await rig.connector.deliverMany?.(batch(0));
    await rig.connector.deliverMany?.(batch(10));
    expect(routes(rig).filter((r) => r === 'listCollections')).toHaveLength(2);
    expect(routes(rig).filter((r) => r === 'listRecords')).toHaveLength(1);
    expect(routes(rig).filter((r) => r === 'getRecord')).toHaveLength(0);
    expect(rig.sandbox.store.recordsIn('Orders')).toHaveLength(10);
  });

  it('a record the import rejects fails the whole bulk call permanently, naming the reason', async () => {
    rig = await startDotdigitalRig();
    const [confirmed] = orderLifeEvents('debenhams', 'H3-A', { backfill: true });
    await rig.connector.deliverMany?.([confirmed as BusinessEvent]);
    // The collection's schema is now fixed: a text where a number was is incompatible.
    const bad = structuredClone(confirmed) as BusinessEvent<'Order Confirmed'>;
    (bad.detail.order as { total: unknown }).total = 'a lot';
    await expect(rig.connector.deliverMany?.([bad as BusinessEvent])).rejects.toThrow(/JsonValueIncompatibleWithSchema/);
  });
});
