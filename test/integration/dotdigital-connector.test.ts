/**
 * The Dotdigital connector against the Dotdigital sandbox over loopback HTTP: region discovery, account setup,
 * list and consent rules as Dotdigital would show them, marketing gating on the contact's channel status, programme
 * enrolment in batches under the 20 calls an hour cap, rate limiting (tiered 429 with X-RateLimit-Reset, legacy
 * 400), history loads through the async imports, exactly one effect per business fact under duplicates, reordering
 * and lost acknowledgements, and no lost update when two facts of one order are written at once.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryLeaseStore } from '../../functions/shared/connector/lease';
import { createDotdigitalConnector } from '../../functions/shared/dotdigital/connector';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError } from '../../functions/shared/http';
import type { OrderRecordJson } from '../../functions/shared/dotdigital/mapping';
import { DOTDIGITAL_SANDBOX_PASSWORD, DOTDIGITAL_SANDBOX_USER, SANDBOX_LISTS } from '../../local/sandboxes/dotdigital';
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
  it('records a subscribed buyer of a marketplace that allows marketing, once, on the confirmed fact; the run enrols it', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, orderLifeEvents('debenhams', 'G1-A'));
    expect(rig.sandbox.store.enrolments).toEqual([]);
    expect([...rig.enrolments.waiting.values()]).toEqual([
      expect.objectContaining({ programme: CONFIRMED_PROGRAMME, marketplace: 'debenhams', orderId: 'G1-A', eventId: 'debenhams:G1-A:confirmed' }),
    ]);
    await rig.runEnrolments();
    await rig.runEnrolments();
    expect(rig.sandbox.store.enrolments).toEqual([{ programId: CONFIRMED_PROGRAMME, contacts: [expect.any(Number)] }]);
  });

  it('a suppressed contact triggers nothing', async () => {
    rig = await startDotdigitalRig({ sandbox: { suppressedEmails: [RELAY] } });
    await deliverAll(rig, orderLifeEvents('debenhams', 'G2-A'));
    await rig.runEnrolments();
    expect(rig.enrolments.waiting.size).toBe(0);
    expect(rig.sandbox.store.enrolments).toEqual([]);
    expect(record(rig, 'debenhams:G2-A')).toBeDefined();
  });

  it('a forbidden marketplace (Decathlon) and an order with an open incident trigger nothing', async () => {
    rig = await startDotdigitalRig();
    await deliverAll(rig, orderLifeEvents('decathlon', 'G3-A'));
    const confirmed = structuredClone(orderLifeEvents('debenhams', 'G4-A')[0]) as BusinessEvent<'Order Confirmed'>;
    confirmed.detail.order.hasIncident = true;
    await rig.connector.deliverOne(confirmed);
    expect(rig.enrolments.waiting.size).toBe(0);
    expect(rig.sandbox.store.enrolments).toEqual([]);
  });
});

/** An enrolment call made outside MarketBridge (another integration on the same account). */
const enrolDirectly = (r: DotdigitalRig) =>
  fetch(`${r.sandbox.apiEndpoint}/v2/programs/enrolments`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${DOTDIGITAL_SANDBOX_USER}:${DOTDIGITAL_SANDBOX_PASSWORD}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ programId: 7999, contacts: [1] }),
  });

/** A new buyer's confirmed order, with a relay address of their own (so their contact is e-mail subscribed). */
function confirmedFor(customer: number): BusinessEvent {
  const event = structuredClone(orderLifeEvents('debenhams', `B${customer}-A`, { customerId: `C-${customer}` })[0]) as BusinessEvent<'Order Confirmed'>;
  event.detail.order.buyer.relayEmail = `buyer${customer}.r7@notification.mirakl.net`;
  return event as BusinessEvent;
}

describe('Dotdigital connector: programme enrolment under the hourly cap', () => {
  it('enrols many buyers in one call', async () => {
    rig = await startDotdigitalRig();
    for (let customer = 1; customer <= 30; customer++) await rig.connector.deliverOne(confirmedFor(customer));
    expect(routes(rig)).not.toContain('enrol');
    expect(await rig.runEnrolments()).toMatchObject({ calls: 1, enrolled: 30, waiting: 0 });
    expect(rig.sandbox.store.enrolments).toHaveLength(1);
    expect(new Set(rig.sandbox.store.enrolments[0]?.contacts)).toEqual(new Set([...rig.sandbox.store.contacts.keys()]));
  });

  it('the sandbox refuses a 21st enrolment call within an hour with 400 ERROR_APIUSAGE_EXCEEDED', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    rig = await startDotdigitalRig({ sandbox: { now: () => now } });
    for (let i = 0; i < 20; i++) {
      expect((await enrolDirectly(rig)).status).toBe(201);
      now += 60_000;
    }
    const refused = await enrolDirectly(rig);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { message: string }).message).toMatch(/^ERROR_APIUSAGE_EXCEEDED/);
    // The first call leaves the rolling hour.
    now = Date.parse('2026-11-22T11:00:00Z') + 1;
    expect((await enrolDirectly(rig)).status).toBe(201);
    expect(rig.sandbox.store.enrolmentsRefused).toBe(1);
  });

  it("when something else used the account's enrolment calls, the run leaves its enrolments pending for later", async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    rig = await startDotdigitalRig({ sandbox: { now: () => now } });
    await rig.connector.deliverOne(confirmedFor(1));
    const [contact] = [...rig.sandbox.store.contacts.keys()];
    // Twenty calls our call log does not know about: Dotdigital's own cap answers ours.
    for (let i = 0; i < 20; i++) await enrolDirectly(rig);
    expect(await rig.runEnrolments()).toMatchObject({ calls: 1, enrolled: 0, waiting: 1, deferred: expect.stringContaining('ERROR_APIUSAGE_EXCEEDED') });
    expect(rig.sandbox.store.enrolmentsRefused).toBe(1);
    now += 61 * 60_000;
    expect(await rig.runEnrolments()).toMatchObject({ calls: 1, enrolled: 1, waiting: 0 });
    expect(rig.sandbox.store.enrolments.at(-1)).toEqual({ programId: CONFIRMED_PROGRAMME, contacts: [contact] });
  });

  it('runs every three minutes for two hours with new buyers each time: batches under the cap, none refused, all enrolled', async () => {
    let now = Date.parse('2026-11-22T10:00:00Z');
    rig = await startDotdigitalRig({ sandbox: { now: () => now } });
    const calls: number[] = [];
    for (let run = 0; run < 40; run++) {
      // Three new buyers between runs, more than one call a run could carry if it enrolled each alone.
      for (let i = 0; i < 3; i++) await rig.connector.deliverOne(confirmedFor(run * 3 + i));
      const before = rig.sandbox.store.enrolments.length;
      await rig.runEnrolments();
      if (rig.sandbox.store.enrolments.length > before) calls.push(now);
      now += 3 * 60_000;
    }
    now += 61 * 60_000;
    await rig.runEnrolments();
    expect(rig.sandbox.store.enrolmentsRefused).toBe(0);
    const busiest = Math.max(...calls.map((at) => calls.filter((c) => c >= at && c < at + 3_600_000).length));
    expect(busiest).toBeLessThanOrEqual(20);
    const enrolled = rig.sandbox.store.enrolments.flatMap((e) => e.contacts);
    expect(enrolled).toHaveLength(120);
    expect(new Set(enrolled).size).toBe(120);
    expect(rig.sandbox.store.enrolments.every((e) => e.contacts.length >= 3)).toBe(true);
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

describe('Dotdigital connector: two facts of one order written at once', () => {
  /**
   * Two Lambda instances on one sandbox each deliver one adjustment of the same order. Each one's record write waits
   * until the other has read the record (or 300 ms): without a lease both read before either writes.
   */
  async function writeAtOnce(leases: 'shared' | 'separate'): Promise<OrderRecordJson | undefined> {
    rig = await startDotdigitalRig();
    const events = orderLifeEvents('debenhams', 'L1-A');
    const byType = (type: string) => events.find((e) => e.detailType === type) as BusinessEvent;
    await rig.connector.deliverOne(byType('Order Confirmed'));
    const signal = () => {
      let resolve!: () => void;
      return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    };
    const read = { first: signal(), second: signal() };
    const instance = (name: 'first' | 'second', other: 'first' | 'second') =>
      createDotdigitalConnector({
        config: rig.config,
        credentials: async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD }),
        enrolments: rig.enrolments,
        leases: leases === 'shared' ? rig.leases : new InMemoryLeaseStore(),
        http: {
          async request(request) {
            if (request.operation === 'dotdigital.putRecord') {
              await Promise.race([read[other].promise, new Promise((resolve) => setTimeout(resolve, 300))]);
            }
            const response = await rig.http.request(request);
            if (request.operation === 'dotdigital.getRecord') read[name].resolve();
            return response;
          },
        },
      });
    await Promise.all([instance('first', 'second').deliverOne(byType('Order Refunded')), instance('second', 'first').deliverOne(byType('Order Cancelled'))]);
    return record(rig, 'debenhams:L1-A');
  }

  it('with the order lease both the refund and the cancellation survive', async () => {
    const stored = await writeAtOnce('shared');
    expect(stored?.refunds.map((r) => r.id)).toEqual(['L1-A-r1']);
    expect(stored?.cancellations.map((c) => c.id)).toEqual(['L1-A-c1']);
    expect(stored).toMatchObject({ refund_total: 26.5, cancelled_total: 25, net_total: 2.49 });
    expect(rig.leases.held.size).toBe(0);
  });

  it('without it one of them is lost (what the lease is for)', async () => {
    const stored = await writeAtOnce('separate');
    expect((stored?.refunds.length ?? 0) + (stored?.cancellations.length ?? 0)).toBe(1);
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
    expect(rig.enrolments.waiting.size).toBe(0);
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
