/**
 * The Dotdigital enrolment planner and run: one call per programme carrying its pending contacts, programmes taking
 * turns under one rolling cap of 20 calls an hour, and a run that dies anywhere neither loses an enrolment silently
 * nor sends one twice.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../functions/shared/connector/failures';
import { InMemoryLeaseStore } from '../../functions/shared/connector/lease';
import {
  ENROLMENT_CAP,
  ENROLMENT_RUN_LEASE,
  ENROLMENT_RUN_MINUTES,
  ENROLMENT_WINDOW_MARGIN_MS,
  type EnrolOutcome,
  InMemoryEnrolmentStore,
  type PendingEnrolment,
  type RecordedCall,
  enrolFailure,
  planEnrolments,
  runEnrolments,
} from '../../functions/shared/dotdigital/enrolments';
import type { ExceptionInput } from '../../functions/shared/exceptions';
import { HttpError } from '../../functions/shared/http';

const HOUR = 3_600_000;
const RUN = ENROLMENT_RUN_MINUTES * 60_000;
const T0 = Date.parse('2026-11-22T10:00:00Z');

let serial = 0;
function pending(programme: number, contactId: number, at = T0): PendingEnrolment {
  serial += 1;
  return {
    programme,
    contactId,
    marketplace: 'debenhams',
    orderId: `E${serial}-A`,
    eventId: `debenhams:E${serial}-A:confirmed`,
    occurredAt: new Date(at).toISOString(),
  };
}

describe('planEnrolments', () => {
  it('batches a programme\'s pending contacts into one call, oldest first, each contact once', () => {
    const late = pending(7001, 3, T0 + 2_000);
    const early = pending(7001, 1, T0);
    const again = pending(7001, 1, T0 + 1_000);
    const middle = pending(7001, 2, T0 + 1_500);
    const [call, ...rest] = planEnrolments([late, again, middle, early], [], T0 + 60_000);
    expect(rest).toEqual([]);
    expect(call).toEqual({ programme: 7001, contactIds: [1, 2, 3], enrolments: [early, middle, late] });
    // The contact's second fact waits for a later call: one enrolment per fact.
    expect(call?.enrolments).not.toContain(again);
  });

  it('carries at most the contacts a call may take; the rest wait', () => {
    const all = Array.from({ length: 5 }, (_, i) => pending(7001, i + 1, T0 + i));
    const [call] = planEnrolments(all, [], T0, { maxContacts: 3 });
    expect(call?.contactIds).toEqual([1, 2, 3]);
  });

  it('gives the turn to the programme called least recently, one call a run by default', () => {
    const work = [pending(7001, 1), pending(7002, 2), pending(7003, 3)];
    const calls: RecordedCall[] = [
      { at: T0 - 2 * RUN, programme: 7003 },
      { at: T0 - RUN, programme: 7001 },
    ];
    expect(planEnrolments(work, calls, T0).map((c) => c.programme)).toEqual([7002]);
    expect(planEnrolments(work, calls, T0, { callsPerRun: 3 }).map((c) => c.programme)).toEqual([7002, 7003, 7001]);
  });

  it('plans no more calls than the rolling hour has left, counting only calls still inside it', () => {
    const work = [pending(7001, 1), pending(7002, 2)];
    const full = Array.from({ length: ENROLMENT_CAP.calls - 1 }, (_, i) => ({ at: T0 - i * 60_000, programme: 7001 }));
    expect(planEnrolments(work, full, T0, { callsPerRun: 2 })).toHaveLength(1);
    const capped = [...full, { at: T0 - 30 * 60_000, programme: 7002 }];
    expect(planEnrolments(work, capped, T0, { callsPerRun: 2 })).toEqual([]);
    // An hour (and the margin) later, the old calls no longer count.
    expect(planEnrolments(work, capped, T0 + HOUR + ENROLMENT_WINDOW_MARGIN_MS, { callsPerRun: 2 })).toHaveLength(2);
  });
});

describe('enrolFailure', () => {
  const enrolError = (details: Partial<ConstructorParameters<typeof HttpError>[0]>) =>
    new HttpError({ operation: 'dotdigital.enrol', kind: 'status', retryable: true, attempts: 1, ...details });

  it('reads what a failed call may have done', () => {
    expect(enrolFailure(enrolError({ status: 429, rateLimited: true })).kind).toBe('later');
    expect(enrolFailure(enrolError({ status: 400, rateLimited: true })).kind).toBe('later');
    expect(enrolFailure(enrolError({ status: 503 })).kind).toBe('later');
    expect(enrolFailure(enrolError({ status: 500 })).kind).toBe('unknown');
    expect(enrolFailure(enrolError({ kind: 'timeout' })).kind).toBe('unknown');
    expect(enrolFailure(enrolError({ kind: 'network' })).kind).toBe('unknown');
    // A connection refused before the request was written never reached Dotdigital: nothing to report as uncertain.
    const socket = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
    expect(enrolFailure(enrolError({ kind: 'network', cause: socket('ECONNREFUSED') })).kind).toBe('not-sent');
    expect(enrolFailure(enrolError({ kind: 'network', cause: socket('ECONNRESET') })).kind).toBe('unknown');
    const refused = new PermanentError('dotdigital.enrol failed, HTTP 400: ERROR_PROGRAM_NOT_ACTIVE', { cause: enrolError({ status: 400, retryable: false }) });
    expect(enrolFailure(refused)).toEqual({ kind: 'refused', reason: refused.message });
    // Discovery, credentials or access failing: the enrolment was never looked at.
    expect(enrolFailure(new HttpError({ operation: 'dotdigital.accountInfo', kind: 'timeout', retryable: true, attempts: 4 })).kind).toBe('not-sent');
    expect(enrolFailure(new Error('secret marketbridge/dotdigital is empty or binary')).kind).toBe('not-sent');
    const denied = new PermanentError('dotdigital.enrol failed, HTTP 401', { cause: enrolError({ status: 401, retryable: false }) });
    expect(enrolFailure(denied)).toEqual({ kind: 'not-sent', error: denied });
  });
});

/** A run's world: the stores, a clock, a Dotdigital whose answers the test scripts, and what reached the inbox. */
function world() {
  let now = T0;
  const store = new InMemoryEnrolmentStore();
  const leases = new InMemoryLeaseStore();
  const exceptions: ExceptionInput[] = [];
  const calls: { at: number; programme: number; contactIds: number[] }[] = [];
  const answers: EnrolOutcome[] = [];
  const run = (programmes = [7001]) =>
    runEnrolments({
      store,
      leases,
      programmes,
      exceptions: { record: async (e) => void exceptions.push(e) },
      enrol: async (programme, contactIds) => {
        calls.push({ at: now, programme, contactIds });
        return answers.shift() ?? { kind: 'enrolled', enrolmentId: `enrolment-${calls.length}` };
      },
      now: () => now,
      sleep: async (ms) => void (now += ms),
    });
  return { store, leases, exceptions, calls, answers, run, advance: (ms: number) => void (now += ms), now: () => now };
}

/** The most calls any rolling hour saw. */
const busiestHour = (calls: { at: number }[]) => Math.max(0, ...calls.map((c) => calls.filter((d) => d.at >= c.at && d.at < c.at + HOUR).length));

describe('runEnrolments', () => {
  it('enrols everything pending in one call and removes it, so the next run calls nobody', async () => {
    const w = world();
    for (let i = 1; i <= 40; i++) await w.store.add(pending(7001, i));
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 40, waiting: 0, exceptions: 0 });
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]?.contactIds).toHaveLength(40);
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 0, enrolled: 0 });
    expect(w.store.waiting.size).toBe(0);
    expect(w.store.call).toBeUndefined();
  });

  it('a redelivered fact records the same pending enrolment: one contact enrolled once', async () => {
    const w = world();
    const once = pending(7001, 9);
    await w.store.add(once);
    await w.store.add({ ...once });
    await w.run();
    expect(w.calls.map((c) => c.contactIds)).toEqual([[9]]);
  });

  it('stays under 20 calls in any rolling hour with several programmes busy, and they take turns', async () => {
    const w = world();
    const programmes = [7001, 7002, 7003];
    let contact = 0;
    // Three hours of runs every three minutes (plus a second, duplicated invocation now and then), with new facts
    // for every programme before each run.
    for (let run = 0; run < 60; run++) {
      for (const programme of programmes) await w.store.add(pending(programme, ++contact, w.now()));
      await w.run(programmes);
      if (run % 7 === 0) await w.run(programmes);
      w.advance(RUN);
    }
    expect(busiestHour(w.calls)).toBeLessThanOrEqual(ENROLMENT_CAP.calls);
    // Nobody starves: each programme gets a fair share of the hour's 20 calls.
    for (const programme of programmes) expect(w.calls.filter((c) => c.programme === programme).length).toBeGreaterThanOrEqual(w.calls.length / 4);
    // Turns in order (the duplicated first run took the second one), each call carrying all its programme had pending.
    expect(w.calls.slice(0, 6).map((c) => c.programme)).toEqual([7001, 7002, 7003, 7001, 7002, 7003]);
    expect(w.calls.slice(0, 6).map((c) => c.contactIds.length)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('waits for a slot about to free rather than leave a run without a call', async () => {
    const w = world();
    // 20 calls in the last hour, the oldest leaving the window in 5 s.
    const log = Array.from({ length: ENROLMENT_CAP.calls }, (_, i) => ({ at: T0 - HOUR - ENROLMENT_WINDOW_MARGIN_MS + 5_000 + i * 60_000, programme: 7001 }));
    w.store.log = { calls: log, version: 1 };
    await w.store.add(pending(7001, 1));
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 1 });
    expect(w.now() - T0).toBe(5_001);
    // A slot further away is not waited for: the run leaves the enrolment pending.
    w.store.log = { calls: log.map((c) => ({ ...c, at: c.at + 60_000 })), version: 2 };
    await w.store.add(pending(7001, 2, w.now()));
    expect(await w.run()).toMatchObject({ calls: 0, waiting: 1, deferred: 'no enrolment call left under the hourly cap' });
  });

  it('a run that dies between the call and removing the enrolments: the next run removes them and calls nobody', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    await w.store.add(pending(7001, 2));
    const remove = w.store.remove.bind(w.store);
    w.store.remove = async () => Promise.reject(new Error('the Lambda died here'));
    await expect(w.run()).rejects.toThrow('the Lambda died here');
    expect(w.store.call?.enrolmentId).toBe('enrolment-1');
    w.store.remove = remove;
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 0, exceptions: 0, waiting: 0 });
    expect(w.calls).toHaveLength(1);
    expect(w.store.waiting.size).toBe(0);
    expect(w.store.call).toBeUndefined();
  });

  it('a crashed run (lease never released): the next run waits for the lease to expire, then finishes its call', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    const release = w.leases.release.bind(w.leases);
    w.leases.release = async () => false;
    w.store.remove = async () => Promise.reject(new Error('killed'));
    await expect(w.run()).rejects.toThrow('killed');
    w.leases.release = release;
    w.store.remove = InMemoryEnrolmentStore.prototype.remove.bind(w.store);
    w.advance(60_000);
    expect(await w.run()).toMatchObject({ skipped: true });
    expect(w.leases.held.has(ENROLMENT_RUN_LEASE)).toBe(true);
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ skipped: false, calls: 0 });
    expect(w.calls).toHaveLength(1);
    expect(w.store.waiting.size).toBe(0);
  });

  it('a run that dies after sending, before the answer was recorded: not sent again, each order in the inbox', async () => {
    const w = world();
    const [a, b] = [pending(7001, 1), pending(7001, 2)];
    await w.store.add(a);
    await w.store.add(b);
    w.store.answered = async () => Promise.reject(new Error('the Lambda died here'));
    await expect(w.run()).rejects.toThrow('the Lambda died here');
    w.store.answered = InMemoryEnrolmentStore.prototype.answered.bind(w.store);
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 0, exceptions: 2, waiting: 0 });
    expect(w.calls).toHaveLength(1);
    expect(w.exceptions.map((e) => [e.type, e.marketplace, e.ref, e.payloadRef, e.component])).toEqual([
      ['enrolment.uncertain', 'debenhams', a.orderId, a.eventId, 'dotdigital-enrolments'],
      ['enrolment.uncertain', 'debenhams', b.orderId, b.eventId, 'dotdigital-enrolments'],
    ]);
    expect(w.exceptions[0]?.reason).toMatch(/not sent again/);
  });

  it('no answer (timeout, 5xx): not sent again, each order in the inbox; a refusal: in the inbox with its reason', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    w.answers.push({ kind: 'unknown', reason: 'dotdigital.enrol failed, timeout' });
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 0, exceptions: 1, waiting: 0 });
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 0 });
    await w.store.add(pending(7001, 2, w.now()));
    w.answers.push({ kind: 'refused', reason: 'HTTP 400: ERROR_PROGRAM_NOT_ACTIVE' });
    expect(await w.run()).toMatchObject({ calls: 1, exceptions: 1 });
    expect(w.exceptions.map((e) => [e.type, e.reason])).toEqual([
      ['enrolment.uncertain', expect.stringMatching(/did not answer.*not sent again.*timeout/)],
      ['enrolment.refused', expect.stringMatching(/refused.*ERROR_PROGRAM_NOT_ACTIVE/)],
    ]);
    expect(w.store.waiting.size).toBe(0);
  });

  it('nothing done (over the cap, unavailable): the enrolments stay pending for a later run', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    w.answers.push({ kind: 'later', reason: 'dotdigital.enrol failed, HTTP 400: ERROR_APIUSAGE_EXCEEDED' });
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 0, waiting: 1, deferred: expect.stringContaining('ERROR_APIUSAGE_EXCEEDED') });
    expect(w.store.call).toBeUndefined();
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 1, waiting: 0 });
    expect(w.calls.map((c) => c.contactIds)).toEqual([[1], [1]]);
  });

  it('a call never sent (credentials, access): the run fails and the enrolments stay pending', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    w.answers.push({ kind: 'not-sent', error: new Error('secret marketbridge/dotdigital has no string field "password"') });
    await expect(w.run()).rejects.toThrow('no string field');
    expect(w.store.call).toBeUndefined();
    expect(w.exceptions).toEqual([]);
    w.advance(RUN);
    expect(await w.run()).toMatchObject({ calls: 1, enrolled: 1 });
  });

  it('one run at a time: a second run while the first holds the lease does nothing', async () => {
    const w = world();
    await w.store.add(pending(7001, 1));
    await w.leases.tryAcquire(ENROLMENT_RUN_LEASE, 'another run', T0, T0 + 120_000);
    expect(await w.run()).toMatchObject({ skipped: true, calls: 0 });
    expect(w.store.waiting.size).toBe(1);
  });
});
