/**
 * The Klaviyo connector end to end on loopback: SQS semantics (receive count, DLQ, redrive), Powertools idempotency
 * on a real DynamoDB wire protocol (dynalite), and the Klaviyo sandbox with its unique_id de-duplication and faults.
 * "Exactly one downstream effect" is checked as Klaviyo would show it: one recorded event per unique_id.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusinessEvent } from '../../functions/shared/events';
import type { Connector } from '../../functions/shared/connector/runtime';
import { type Harness, MAX_RECEIVES, recorded, startHarness } from '../support/connectorHarness';
import { orderLifeEvents } from '../support/klaviyoFixtures';

/** Klaviyo events one business event should leave behind (Placed Order + one Ordered Product per line, …). */
function expectedEffects(events: BusinessEvent[]): number {
  return events.reduce((n, e) => n + (e.detailType === 'Order Confirmed' ? 1 + (e.detail as { order: { lines: unknown[] } }).order.lines.length : 1), 0);
}

/** One Klaviyo event per business fact, and the consent rules held: no subscription, no profile e-mail. */
function expectExactlyOnce(h: Harness, events: BusinessEvent[]): void {
  const ids = recorded(h.sandbox);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(expectedEffects(events));
  expect(h.sandbox.requests.filter((r) => r.route === 'bulkSubscribeProfiles' || r.route === undefined)).toEqual([]);
  for (const profile of h.sandbox.store.profiles.values()) {
    expect(profile.attributes.email).toBeUndefined();
    expect(profile.attributes.subscriptions).toBeUndefined();
  }
}

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('Klaviyo connector: delivery', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  it('delivers an order life as one profile and the Klaviyo events of each business fact', async () => {
    const events = orderLifeEvents('debenhams', 'L1-A');
    h.send(events);
    await h.drain({ batchSize: 1 });
    expectExactlyOnce(h, events);
    expect(h.sandbox.store.profiles.size).toBe(1);
    const [profile] = h.sandbox.store.profiles.values();
    expect(profile?.attributes.external_id).toBe('mirakl:debenhams:C-1001');
    expect(profile?.attributes.email).toBeUndefined();
    expect(recorded(h.sandbox)).toEqual(
      expect.arrayContaining([
        'Placed Order debenhams:L1-A:confirmed',
        'Ordered Product debenhams:L1-A:line:L1-A-1',
        'Ordered Product debenhams:L1-A:line:L1-A-2',
        'Fulfilled Order debenhams:L1-A:shipped',
        'Refunded Order debenhams:L1-A:refund:L1-A-r1',
        'Cancelled Order debenhams:L1-A:cancel:L1-A-c1',
        'Order Incident Opened debenhams:L1-A:incident-opened:L1-A-1:1',
      ]),
    );
    expect(h.sandbox.store.events.every((e) => e.via === 'single' && !e.backfill)).toBe(true);
    expect(h.metric('Delivered')).toBe(events.length);
    expect(h.dlq.depth().visible).toBe(0);
  });

  it('never writes personal data to the logs', async () => {
    h.send(orderLifeEvents('debenhams', 'PII-A'));
    h.sendRaw('{"detail":{"marketplace":"debenhams"},"not":"an event"}');
    await h.drain();
    const logs = h.output.join('');
    expect(logs).toContain('PII-A');
    for (const secret of ['Jane', 'Doe', 'notification.mirakl.net', 'Example Road', '7700', 'SW1A', 'pk_test']) {
      expect(logs).not.toContain(secret);
    }
  });

  it('uses the bulk endpoints for a backlog: one profile import job and one event job per batch', async () => {
    const events = Array.from({ length: 10 }, (_, i) => orderLifeEvents('debenhams', `B${i}-A`, { customerId: `C-${i}` })[0] as BusinessEvent);
    h.send(events);
    await h.invokeOnce({ batchSize: 10 });
    const routes = h.sandbox.requests.map((r) => r.route);
    expect(routes).toEqual(['bulkImportProfiles', 'bulkCreateEvents']);
    expectExactlyOnce(h, events);
    expect(h.sandbox.store.profiles.size).toBe(10);
  });

  it('history loads go through bulk with Klaviyo backfill set, so flows do not fire', async () => {
    const events = orderLifeEvents('decathlon', 'H1-A', { backfill: true });
    h.send(events);
    await h.drain();
    expectExactlyOnce(h, events);
    expect(h.sandbox.store.events.every((e) => e.backfill && e.via === 'bulk')).toBe(true);
    expect(h.sandbox.requests.some((r) => r.route === 'createEvent' || r.route === 'upsertProfile')).toBe(false);
  });
});

describe('Klaviyo connector: exactly one downstream effect', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  it('under duplicate deliveries, in one batch and across batches', async () => {
    const events = orderLifeEvents('debenhams', 'D1-A');
    h.send([...events, ...events]);
    await h.drain({ batchSize: 10 });
    h.send(events);
    await h.drain({ batchSize: 3 });
    expectExactlyOnce(h, events);
    expect(h.metric('Duplicate')).toBeGreaterThanOrEqual(events.length);
    expect(h.dlq.depth().visible).toBe(0);
  });

  it('when the Lambda dies after the Klaviyo call and before the ack', async () => {
    const events = orderLifeEvents('debenhams', 'X1-A').slice(0, 2);
    let crash = true;
    h.wrap = (connector: Connector): Connector => ({
      ...connector,
      deliverMany: undefined,
      async deliverOne(event) {
        await connector.deliverOne(event);
        // The process is gone: the idempotency record stays INPROGRESS and the message is never deleted.
        if (crash) await new Promise<never>(() => undefined);
      },
    });
    h.send(events);
    const dying = h.invokeOnce({ timeoutMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorded(h.sandbox)).toHaveLength(expectedEffects(events));
    crash = false;
    // Abandon the hung invocation; its messages become visible again after the visibility timeout.
    void dying;
    await h.drain();
    expectExactlyOnce(h, events);
    // The retry really called Klaviyo again (in-progress record expired) and the unique_id absorbed it.
    expect(h.sandbox.store.duplicatesIgnored).toBe(expectedEffects(events));
  });

  it('when the ack of a completed batch is lost (the message comes back after success)', async () => {
    const events = orderLifeEvents('debenhams', 'A1-A').slice(0, 2);
    h.send(events);
    expect(await h.invokeOnce({ ack: false })).toEqual([]);
    expect(h.queue.depth().inFlight).toBe(events.length);
    await h.drain();
    expectExactlyOnce(h, events);
    // The second receive was answered by the idempotency record: Klaviyo was not called again.
    expect(h.sandbox.requests.filter((r) => r.route === 'createEvent')).toHaveLength(expectedEffects(events));
    expect(h.metric('Duplicate')).toBe(events.length);
  });

  it('when the response is lost in a timeout after Klaviyo applied the request', async () => {
    h.sandbox.inject({ kind: 'timeout', times: 3, afterEffect: true });
    const events = orderLifeEvents('debenhams', 'T1-A');
    h.send(events);
    await h.drain({ batchSize: 2 });
    expectExactlyOnce(h, events);
  });

  it('through 429, 5xx and timeout storms', async () => {
    h.sandbox.inject({ kind: 'status', status: 429, times: 6, retryAfterSeconds: 1 });
    h.sandbox.inject({ kind: 'status', status: 503, times: 4 });
    h.sandbox.inject({ kind: 'status', status: 500, times: 3, route: 'createEvent' });
    h.sandbox.inject({ kind: 'timeout', times: 3 });
    h.sandbox.inject({ kind: 'status', status: 502, times: 3, route: 'upsertProfile' });
    const events = [...orderLifeEvents('debenhams', 'S1-A'), ...orderLifeEvents('decathlon', 'S2-A')];
    h.send(events);
    await h.drain({ batchSize: 4 });
    expectExactlyOnce(h, events);
    expect(h.metric('RateLimited')).toBeGreaterThanOrEqual(6);
    expect(h.metric('Retried')).toBeGreaterThan(0);
    expect(h.dlq.depth().visible).toBe(0);
    expect(await h.exceptions()).toEqual([]);
  });

  it('after a redrive from the DLQ, and a second redrive of the same messages', async () => {
    // Klaviyo is down for longer than the receive budget: everything ends in the DLQ with an exception.
    h.sandbox.inject({ kind: 'status', status: 503, times: 1_000 });
    const events = orderLifeEvents('debenhams', 'R1-A').slice(0, 2);
    h.send(events);
    await h.drain();
    h.queue.receive(10); // the receive that moves them past maxReceiveCount into the DLQ
    expect(h.dlq.depth().visible).toBe(events.length);
    // One inbox entry per order and failure type; each event that gave up counts once.
    const exceptions = await h.exceptions();
    expect(exceptions).toEqual([expect.objectContaining({ type: 'delivery.failed', ref: 'R1-A', occurrences: 2 })]);
    expect(String(exceptions[0]?.reason)).toMatch(/gave up after 5 receives: .*HTTP 503/);

    h.sandbox.reset();
    const bodies = [...Array(events.length)].map(() => h.dlq.takeForMove()!.body);
    for (const body of bodies) h.sendRaw(body); // redrive: new message ids, receive count from zero
    await h.drain();
    expectExactlyOnce(h, events);
    for (const body of bodies) h.sendRaw(body); // redriven again by mistake
    await h.drain();
    expectExactlyOnce(h, events);
  });
});

describe('Klaviyo connector: exactly once, whatever the schedule (property)', () => {
  it('random duplicates, batch sizes, bulk or single, and injected faults leave one effect per fact', async () => {
    const fault = fc.oneof(
      fc.record({ kind: fc.constant('status' as const), status: fc.constantFrom(429 as const, 500 as const, 503 as const), times: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('timeout' as const), times: fc.integer({ min: 1, max: 2 }), afterEffect: fc.boolean() }),
    );
    const schedule = fc.record({
      orders: fc.integer({ min: 1, max: 3 }),
      copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 15, maxLength: 15 }),
      batchSize: fc.integer({ min: 1, max: 10 }),
      bulk: fc.constantFrom('auto', 'always', 'never'),
      faults: fc.array(fault, { maxLength: 3 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        run += 1;
        const harness = await startHarness({ connector: { bulk: s.bulk, bulkMinRecords: 4 }, httpTimeoutMs: 200 });
        try {
          for (const f of s.faults) harness.sandbox.inject(f);
          const events = Array.from({ length: s.orders }, (_, i) =>
            orderLifeEvents(i % 2 ? 'decathlon' : 'debenhams', `F${run}x${i}-A`, { customerId: `F-${run}-${i}` }),
          ).flat();
          const deliveries = events.flatMap((e, i) => Array.from({ length: s.copies[i % s.copies.length] as number }, () => e));
          harness.send(deliveries);
          await harness.drain({ batchSize: s.batchSize, maxRounds: 20 });
          expectExactlyOnce(harness, events);
          expect(harness.dlq.depth().visible).toBe(0);
        } finally {
          await harness.close();
        }
      }),
      { numRuns: 8 },
    );
  });
});

describe('Klaviyo connector: one bad record never blocks the batch', () => {
  beforeEach(async () => {
    h = await startHarness();
  });

  function poison(): BusinessEvent {
    const [event] = orderLifeEvents('debenhams', 'P0-A');
    // Klaviyo refuses event times before 1990: a permanent 400 for this record only.
    return { ...event!, detail: { ...event!.detail, occurredAt: '1985-01-01T00:00:00.000Z' } } as BusinessEvent;
  }

  it('a record Klaviyo rejects and a malformed message become exceptions and end in the DLQ; the rest is delivered', async () => {
    const good = orderLifeEvents('decathlon', 'G1-A');
    h.send([good[0]!, poison(), ...good.slice(1)]);
    h.sendRaw('{not json');
    const failed = await h.invokeOnce();
    expect(failed).toHaveLength(2);
    expectExactlyOnce(h, good);

    await h.drain();
    h.queue.receive(10);
    expect(h.dlq.depth().visible).toBe(2);
    const exceptions = await h.exceptions();
    const byType = Object.fromEntries(exceptions.map((e) => [e.type, e]));
    expect(byType['delivery.failed']).toMatchObject({
      owner: 'operations',
      marketplace: 'debenhams',
      ref: 'P0-A',
      payloadRef: 'debenhams:P0-A:confirmed',
      component: 'klaviyo',
      occurrences: MAX_RECEIVES,
    });
    expect(String(byType['delivery.failed']?.reason)).toMatch(/HTTP 400.*invalid at \/data\/attributes\/time/);
    expect(byType['event.invalid']).toMatchObject({ marketplace: 'unknown', component: 'klaviyo' });
    expectExactlyOnce(h, good);
  });

  it('a poison record inside a bulk batch is isolated: the rest of the bulk goes through', async () => {
    const good = Array.from({ length: 11 }, (_, i) => orderLifeEvents('debenhams', `Q${i}-A`, { customerId: `Q-${i}` })[0]!);
    h.send([...good.slice(0, 5), poison(), ...good.slice(5)]);
    const failed = await h.invokeOnce();
    expect(failed).toHaveLength(1);
    expect(recorded(h.sandbox)).toHaveLength(expectedEffects(good.slice(0, 9)));
    await h.drain();
    expectExactlyOnce(h, good);
    expect(h.sandbox.requests.some((r) => r.route === 'bulkCreateEvents' && r.status === 400)).toBe(true);
  });
});
