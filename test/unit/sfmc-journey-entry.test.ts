/**
 * SFMC journey entry under redelivery, on the real connector and HTTP layer over a scripted `fetch`: an answered
 * entry is marked and never fired again; an answered refusal releases its claim so the retry enters once; an entry
 * with no answer (reset or timeout after sending, a gateway's 504) is sent once, never repeated by the HTTP layer or
 * a redelivery, and reported for a person to check. The batched form does the same per member.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../functions/shared/connector/failures';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError, createHttpClient } from '../../functions/shared/http';
import { CollectingExceptions } from '../../functions/shared/ingest/memory';
import { createSfmcConnector } from '../../functions/shared/sfmc/connector';
import { MemoryJourneyLedger } from '../../functions/shared/sfmc/journeyLedger';
import { SFMC_SANDBOX_CLIENT } from '../../local/sandboxes/sfmc';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { CONFIRMED_JOURNEY, sfmcConfig } from '../support/sfmcFixtures';

/** What a journey call meets: SFMC's answer status, or the connection lost before or after SFMC acted. */
type Outcome = 'ok' | number | 'reset-before' | 'reset-after' | 'timeout-after';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const reset = () => new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });

/** A minimal SFMC: tokens, rowsets, async upserts, and journey entries that follow `script` (then answer). */
function scriptedSfmc(script: Outcome[] = []) {
  const entered: { contactKey: string; orderId: unknown }[] = [];
  const journeyCalls: { path: string; body: Record<string, unknown> }[] = [];
  let rowWrites = 0;
  /** Batch members whose order SFMC refuses (errorcode 30002, a data validation error). */
  const refuse = new Set<string>();

  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const { pathname } = new URL(input instanceof Request ? input.url : String(input));
    if (pathname === '/v2/token') return json(200, { access_token: 'tok', rest_instance_url: 'https://rest.test/', expires_in: 1079 });
    if (pathname.startsWith('/hub/v1/dataevents/') || pathname.startsWith('/data/v1/async/dataextensions/')) {
      rowWrites += 1;
      return pathname.startsWith('/hub/') ? json(200, []) : json(202, { requestId: 'req-1' });
    }
    if (pathname.endsWith('/status')) return json(200, { status: { requestStatus: 'Complete', hasErrors: false } });
    if (!pathname.startsWith('/interaction/v1/')) throw new Error(`unexpected call ${pathname}`);
    const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
    journeyCalls.push({ path: pathname, body });
    const outcome = script.shift() ?? 'ok';
    if (outcome === 'reset-before') throw reset();
    if (typeof outcome === 'number') return json(outcome, { message: 'refused', errorcode: outcome === 429 ? 50100 : 0 });
    let answer: Record<string, unknown>;
    if (pathname === '/interaction/v1/events') {
      entered.push({ contactKey: String(body.ContactKey), orderId: (body.Data as Record<string, unknown>).OrderId });
      answer = { eventInstanceId: `instance-${entered.length}` };
    } else {
      const members = (body.members as { contactKey: string; data: Record<string, unknown> }[]).map((m) => {
        if (refuse.has(String(m.data.OrderId))) return { contactKey: m.contactKey, errorcode: 30002, message: 'Data validation failed' };
        entered.push({ contactKey: m.contactKey, orderId: m.data.OrderId });
        return { contactKey: m.contactKey, eventInstanceId: `instance-${entered.length}` };
      });
      answer = { requestId: 'batch-1', count: members.length, members };
    }
    if (outcome === 'reset-after') throw reset();
    if (outcome === 'timeout-after') throw new DOMException('The operation timed out.', 'TimeoutError');
    return json(pathname === '/interaction/v1/events' ? 201 : 202, answer);
  };
  return { fetch, entered, journeyCalls, refuse, rowWrites: () => rowWrites };
}

function rig(script: Outcome[] = []) {
  const sfmc = scriptedSfmc(script);
  const journeys = new MemoryJourneyLedger();
  const exceptions = new CollectingExceptions();
  const connector = createSfmcConnector({
    config: sfmcConfig({ baseUrl: 'https://auth.test' }),
    http: createHttpClient({ fetch: sfmc.fetch, sleep: async () => undefined }),
    credentials: async () => SFMC_SANDBOX_CLIENT,
    journeys,
    exceptions,
    poll: { intervalMs: 1, timeoutMs: 1_000 },
    sleep: async () => undefined,
  });
  return { sfmc, journeys, exceptions, connector };
}

const confirmed = (orderId: string, customerId = 'C-1001') =>
  orderLifeEvents('debenhams', orderId, { customerId })[0] as BusinessEvent<'Order Confirmed'>;

describe('SFMC journey entry: single events', () => {
  it('an answered entry is marked entered with its eventInstanceId, and a redelivery does not fire it again', async () => {
    const { sfmc, journeys, exceptions, connector } = rig();
    const event = confirmed('JE1-A');
    await connector.deliverOne(event);
    await connector.deliverOne(event);
    expect(sfmc.entered).toEqual([{ contactKey: 'mirakl:debenhams:C-1001', orderId: 'JE1-A' }]);
    expect(journeys.markers.get(event.id)).toEqual({ state: 'entered', eventInstanceId: 'instance-1' });
    expect(exceptions.recorded).toEqual([]);
  });

  it('answered 429 and 5xx are retried within the delivery, and the contact enters once', async () => {
    const { sfmc, journeys, connector } = rig([429, 502, 503]);
    const event = confirmed('JE2-A');
    await connector.deliverOne(event);
    expect(sfmc.journeyCalls).toHaveLength(4);
    expect(sfmc.entered).toHaveLength(1);
    expect(journeys.markers.get(event.id)?.state).toBe('entered');
  });

  it.each([
    ['a 400 (permanent)', [400], PermanentError],
    ['429s past the retry budget', [429, 429, 429, 429], HttpError],
  ] as const)('an answered refusal, %s, releases the claim: the retry enters the contact once', async (_, script, type) => {
    const { sfmc, journeys, exceptions, connector } = rig([...script]);
    const event = confirmed('JE3-A');
    await expect(connector.deliverOne(event)).rejects.toBeInstanceOf(type);
    expect(sfmc.entered).toEqual([]);
    expect(journeys.markers.has(event.id)).toBe(false);
    await connector.deliverOne(event);
    expect(sfmc.entered).toHaveLength(1);
    expect(journeys.markers.get(event.id)?.state).toBe('entered');
    expect(exceptions.recorded).toEqual([]);
  });

  it.each([
    ['a reset after SFMC entered the contact', 'reset-after', 1],
    ['a timeout after SFMC entered the contact', 'timeout-after', 1],
    ['a reset that may have come before sending', 'reset-before', 0],
    ["a gateway's 504", 504, 0],
  ] as const)('no answer, %s: sent once, never again; the redelivery writes the rows and reports the entry', async (_, outcome, entries) => {
    const { sfmc, journeys, exceptions, connector } = rig([outcome]);
    const event = confirmed('JE4-A');
    await expect(connector.deliverOne(event)).rejects.toMatchObject({ retryable: true });
    // Not repeated by the HTTP layer either: one request, whatever it did.
    expect(sfmc.journeyCalls).toHaveLength(1);
    expect(journeys.markers.get(event.id)?.state).toBe('entering');
    const rowsBefore = sfmc.rowWrites();

    await connector.deliverOne(event);
    await connector.deliverOne(event);
    expect(sfmc.journeyCalls).toHaveLength(1);
    expect(sfmc.entered).toHaveLength(entries);
    expect(sfmc.rowWrites()).toBe(rowsBefore + 2 * 3);
    expect(exceptions.recorded).toEqual([
      { type: 'journey.entry-uncertain', marketplace: 'debenhams', ref: 'JE4-A', reason: expect.stringContaining(CONFIRMED_JOURNEY), payloadRef: event.id, component: 'sfmc' },
      expect.objectContaining({ type: 'journey.entry-uncertain', ref: 'JE4-A' }),
    ]);
    // No personal data and no contact key in the inbox: the order and the journey say where to look.
    expect(JSON.stringify(exceptions.recorded)).not.toMatch(/mirakl:debenhams|@|C-1001/);
  });
});

describe('SFMC journey entry: batched (backlogs of more than 50)', () => {
  const backlog = () => Array.from({ length: 52 }, (_, i) => confirmed(`JB${i}-A`, `C-${i}`));

  it('one claim per member: an earlier unanswered claim is reported and left out, a refused member is released', async () => {
    const { sfmc, journeys, exceptions, connector } = rig();
    const events = backlog();
    const [uncertain, refused] = events as [BusinessEvent<'Order Confirmed'>, BusinessEvent<'Order Confirmed'>];
    await journeys.claim({ eventId: uncertain.id, eventDefinitionKey: CONFIRMED_JOURNEY, marketplace: 'debenhams', orderId: 'JB0-A' });
    sfmc.refuse.add('JB1-A');

    await expect(connector.deliverMany?.(events)).rejects.toThrow(/refused 1 contact\(s\): errorcode 30002/);
    expect(sfmc.journeyCalls.map((c) => [c.path, (c.body.members as unknown[]).length])).toEqual([['/interaction/v1/async/events', 51]]);
    expect(sfmc.entered).toHaveLength(50);
    expect(journeys.markers.get(uncertain.id)?.state).toBe('entering');
    expect(journeys.markers.has(refused.id)).toBe(false);
    expect(events.slice(2).every((e) => journeys.markers.get(e.id)?.state === 'entered')).toBe(true);
    expect(journeys.markers.get(events[2]!.id)?.eventInstanceId).toMatch(/^instance-/);
    expect(exceptions.recorded.map((e) => [e.type, e.ref])).toEqual([['journey.entry-uncertain', 'JB0-A']]);

    // The bulk window falls back to one delivery per event: only the refused member is sent, once accepted.
    sfmc.refuse.clear();
    for (const event of events) await connector.deliverOne(event);
    expect(sfmc.entered).toHaveLength(51);
    expect(sfmc.journeyCalls.slice(1).map((c) => (c.body.Data as Record<string, unknown>).OrderId)).toEqual(['JB1-A']);
  });

  it('a whole batch refused is released; a batch with no answer stays claimed and is reported per member', async () => {
    const refusedRig = rig([400]);
    const events = backlog();
    await expect(refusedRig.connector.deliverMany?.(events)).rejects.toBeInstanceOf(PermanentError);
    expect(refusedRig.journeys.markers.size).toBe(0);
    await refusedRig.connector.deliverMany?.(events);
    expect(refusedRig.sfmc.entered).toHaveLength(52);

    const lostRig = rig(['reset-after']);
    await expect(lostRig.connector.deliverMany?.(events)).rejects.toMatchObject({ retryable: true });
    await lostRig.connector.deliverMany?.(events);
    expect(lostRig.sfmc.journeyCalls).toHaveLength(1);
    expect(lostRig.sfmc.entered).toHaveLength(52);
    expect(lostRig.exceptions.recorded.map((e) => e.ref).sort()).toEqual(events.map((e) => e.detail.order.orderId).sort());
  });
});
