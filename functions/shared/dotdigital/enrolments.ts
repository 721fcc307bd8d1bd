/**
 * Programme enrolment under Dotdigital's cap: `POST /v2/programs/enrolments` may be called at most 20 times an hour
 * per account, across all programmes (shared/specs/dotdigital/dotdigital-v2-api-swagger.json, ApiProgram_PostEnrolment;
 * the support article on immediate enrolment says to enrol in batches above that). Neither source gives a maximum of
 * contacts per call nor the answer to a call over the cap.
 *
 * So the connector never calls it: it records a pending enrolment (programme, contact, fact) for a subscribed contact,
 * and a scheduled run every ENROLMENT_RUN_MINUTES enrols what is pending, one call per programme carrying every
 * pending contact (up to ENROLMENT_MAX_CONTACTS), at most CALLS_PER_RUN calls a run and never more than the cap in
 * any rolling hour (a call log in the state table, shared by every run, taken with a conditional write).
 *
 * A call is written down before it is made and its answer right after, so a run that dies at any point leaves
 * enough for the next one:
 * - answered (an enrolment id recorded): the next run removes what it enrolled, and never calls again;
 * - refused before doing anything (rate limited, unavailable): the enrolments stay pending for a later run;
 * - never sent (credentials, region discovery) or refused for access: they stay pending and the run fails;
 * - refused outright (a programme Dotdigital rejects): each becomes an exception naming the reason;
 * - no answer (timeout, a 5xx, a crash during the call): it may have been enrolled, and a second enrolment is worse
 *   than none, so it is NOT sent again; each order becomes an exception for someone to check in Dotdigital.
 * One run at a time (a lease); a lost run's lease expires after the run's timeout.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import type { LeaseStore } from '../connector/lease';
import { PermanentError } from '../connector/failures';
import type { ExceptionRecorder } from '../exceptions';
import { httpErrorOf, neverSent } from '../http';
import type { DotdigitalApi, Json } from './api';
import { dotdigitalSettings, paths } from './requests';

/** Dotdigital's cap on `POST /v2/programs/enrolments`, per account, across programmes. */
export const ENROLMENT_CAP = { calls: 20, windowMs: 60 * 60_000 } as const;
/**
 * Our clock stamps a call before Dotdigital sees it; a call's latency varies, so the window we keep is a little longer
 * than Dotdigital's hour.
 */
export const ENROLMENT_WINDOW_MARGIN_MS = 10_000;
/** Every three minutes: 20 runs an hour, one call each, is the cap exactly. */
export const ENROLMENT_RUN_MINUTES = 3;
export const CALLS_PER_RUN = 1;
/** Our own ceiling per call (Dotdigital documents none): v2's page size, a body of a few KB. */
export const ENROLMENT_MAX_CONTACTS = 1_000;
/** The run's Lambda timeout, and so its lease: a run still going has never lost the lease. */
export const ENROLMENT_RUN_TIMEOUT_SECONDS = 120;
/**
 * Longer than the connector's 30 s: a call left without an answer becomes exceptions instead of an enrolment, so it
 * gets as long as the run allows (Dotdigital advises 121 s).
 */
export const ENROLMENT_CALL_TIMEOUT_MS = 60_000;
/** A call slot freeing within this long is waited for, rather than leaving a whole run without a call. */
const SLOT_WAIT_MS = 15_000;
export const ENROLMENT_RUN_LEASE = 'dotdigital-enrolments';
const NO_SLOT = 'no enrolment call left under the hourly cap';
export const ENROLMENT_COMPONENT = 'dotdigital-enrolments';

/** The programmes the configuration enrols in. */
export function enrolmentProgrammes(config: Config): number[] {
  const { confirmed, shipped } = dotdigitalSettings(config).programmes;
  return [...new Set([confirmed, shipped].filter((p): p is number => p !== undefined))];
}

/** One fact's enrolment, waiting for the next run. Deterministic: a redelivered fact records the same one. */
export interface PendingEnrolment {
  programme: number;
  contactId: number;
  marketplace: string;
  orderId: string;
  eventId: string;
  /** When the fact happened: the oldest are enrolled first when a call cannot take them all. */
  occurredAt: string;
}

/** What the connector needs: somewhere to record an enrolment for the next run. */
export interface PendingEnrolments {
  add(enrolment: PendingEnrolment): Promise<void>;
}

export interface RecordedCall {
  at: number;
  programme: number;
}

/** The enrolment calls of the last hour (and a bit), with the version a conditional write expects. */
export interface CallLog {
  calls: RecordedCall[];
  version: number;
}

/** The call being made: written before it, its enrolment id after the answer, deleted once cleaned up. */
export interface EnrolmentCall {
  id: string;
  programme: number;
  enrolments: PendingEnrolment[];
  startedAt: string;
  enrolmentId?: string;
}

export interface EnrolmentStore extends PendingEnrolments {
  pending(programmes: readonly number[]): Promise<PendingEnrolment[]>;
  remove(enrolments: readonly PendingEnrolment[]): Promise<void>;
  inFlight(): Promise<EnrolmentCall | undefined>;
  /** False when another call is already recorded. */
  begin(call: EnrolmentCall): Promise<boolean>;
  answered(callId: string, enrolmentId: string): Promise<void>;
  end(callId: string): Promise<void>;
  callLog(): Promise<CallLog>;
  /** Replaces the log's calls if its version is still `expected.version`; false when another run wrote first. */
  writeCallLog(expected: CallLog, calls: RecordedCall[]): Promise<boolean>;
}

const enrolmentKey = (e: PendingEnrolment) => `${e.programme}|${e.eventId}|${e.contactId}`;

/** For unit tests, the benchmark and runs that touch no AWS. */
export class InMemoryEnrolmentStore implements EnrolmentStore {
  readonly waiting = new Map<string, PendingEnrolment>();
  call: EnrolmentCall | undefined;
  log: CallLog = { calls: [], version: 0 };

  async add(enrolment: PendingEnrolment): Promise<void> {
    this.waiting.set(enrolmentKey(enrolment), enrolment);
  }

  async pending(programmes: readonly number[]): Promise<PendingEnrolment[]> {
    return [...this.waiting.values()].filter((e) => programmes.includes(e.programme));
  }

  async remove(enrolments: readonly PendingEnrolment[]): Promise<void> {
    for (const e of enrolments) this.waiting.delete(enrolmentKey(e));
  }

  async inFlight(): Promise<EnrolmentCall | undefined> {
    return this.call && structuredClone(this.call);
  }

  async begin(call: EnrolmentCall): Promise<boolean> {
    if (this.call) return false;
    this.call = structuredClone(call);
    return true;
  }

  async answered(callId: string, enrolmentId: string): Promise<void> {
    if (this.call?.id === callId) this.call.enrolmentId = enrolmentId;
  }

  async end(callId: string): Promise<void> {
    if (this.call?.id === callId) this.call = undefined;
  }

  async callLog(): Promise<CallLog> {
    return structuredClone(this.log);
  }

  async writeCallLog(expected: CallLog, calls: RecordedCall[]): Promise<boolean> {
    if (this.log.version !== expected.version) return false;
    this.log = { calls: [...calls], version: expected.version + 1 };
    return true;
  }
}

const WINDOW_MS = ENROLMENT_CAP.windowMs + ENROLMENT_WINDOW_MARGIN_MS;

/** The calls that still count against the cap at `nowMs`. */
export function callsInWindow(calls: readonly RecordedCall[], nowMs: number): RecordedCall[] {
  return calls.filter((c) => c.at > nowMs - WINDOW_MS);
}

export interface PlannedCall {
  programme: number;
  contactIds: number[];
  /** The pending enrolments this call satisfies (a contact with two pending facts keeps the second for later). */
  enrolments: PendingEnrolment[];
}

const byAge = (a: PendingEnrolment, b: PendingEnrolment) =>
  Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.eventId.localeCompare(b.eventId) || a.contactId - b.contactId;

/**
 * This run's calls: programmes with something pending, least recently called first (so several programmes take
 * turns), as many as the run and the rolling cap allow; each call carries its programme's pending contacts, oldest
 * first, each contact once.
 */
export function planEnrolments(
  pending: readonly PendingEnrolment[],
  calls: readonly RecordedCall[],
  nowMs: number,
  limits: { callsPerRun?: number; maxContacts?: number } = {},
): PlannedCall[] {
  const byProgramme = new Map<number, PendingEnrolment[]>();
  for (const e of [...pending].sort(byAge)) {
    const list = byProgramme.get(e.programme) ?? [];
    list.push(e);
    byProgramme.set(e.programme, list);
  }
  const recent = callsInWindow(calls, nowMs);
  const lastCalled = (programme: number) => Math.max(-Infinity, ...recent.filter((c) => c.programme === programme).map((c) => c.at));
  const turns = [...byProgramme.keys()].sort((a, b) => lastCalled(a) - lastCalled(b) || a - b);
  const allowed = Math.max(0, Math.min(limits.callsPerRun ?? CALLS_PER_RUN, ENROLMENT_CAP.calls - recent.length));
  return turns.slice(0, allowed).map((programme) => {
    const contacts = new Set<number>();
    const enrolments: PendingEnrolment[] = [];
    for (const e of byProgramme.get(programme) ?? []) {
      if (contacts.has(e.contactId) || contacts.size >= (limits.maxContacts ?? ENROLMENT_MAX_CONTACTS)) continue;
      contacts.add(e.contactId);
      enrolments.push(e);
    }
    return { programme, contactIds: [...contacts], enrolments };
  });
}

/** What one enrolment call came to. */
export type EnrolOutcome =
  | { kind: 'enrolled'; enrolmentId: string }
  /** Dotdigital did nothing for now (its cap, load shedding): a later run tries again. */
  | { kind: 'later'; reason: string }
  /** Never sent, or refused for access (credentials, region, secret): the run fails, so an alarm tells someone. */
  | { kind: 'not-sent'; error: unknown }
  /** Dotdigital refused the call: nothing was done, and sending it again would not help. */
  | { kind: 'refused'; reason: string }
  /** The call may or may not have enrolled them. */
  | { kind: 'unknown'; reason: string };

/**
 * Reads a failed enrolment call. Only a failure of the enrolment request itself can have done anything; the rest
 * (credentials, region discovery) happened before it was sent.
 */
export function enrolFailure(error: unknown): EnrolOutcome {
  const http = httpErrorOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  // 401 and 403 (after the rediscovery a moved account gets) refuse the caller before looking at the request; a
  // connection that failed before the request was written never reached Dotdigital.
  if (!http || http.operation !== 'dotdigital.enrol' || http.status === 401 || http.status === 403 || neverSent(http)) return { kind: 'not-sent', error };
  // A cap (429, v2's 400 ERROR_APIUSAGE_EXCEEDED) or load shedding (503) is answered before any work is done.
  if (http.rateLimited || http.status === 429 || http.status === 503) return { kind: 'later', reason };
  if (error instanceof PermanentError) return { kind: 'refused', reason };
  return { kind: 'unknown', reason };
}

/** One enrolment call on the account's region, never repeated by the HTTP layer (a repeated call enrols twice). */
export function enrolmentCaller(api: DotdigitalApi): (programme: number, contactIds: number[]) => Promise<EnrolOutcome> {
  return async (programme, contactIds) => {
    try {
      const response = await api.call('enrol', 'POST', paths.enrolment(), { programId: programme, contacts: contactIds }, { retry: { maxAttempts: 1 } });
      const id = (response.json as Json | undefined)?.id;
      return { kind: 'enrolled', enrolmentId: typeof id === 'string' ? id : `HTTP ${response.status}` };
    } catch (error) {
      return enrolFailure(error);
    }
  };
}

export interface EnrolmentRunDeps {
  store: EnrolmentStore;
  leases: LeaseStore;
  programmes: readonly number[];
  /** One enrolment call; it must not be retried inside (a resent call enrols twice). */
  enrol(programme: number, contactIds: number[]): Promise<EnrolOutcome>;
  exceptions: ExceptionRecorder;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface EnrolmentRunResult {
  /** Another run holds the lease. */
  skipped: boolean;
  calls: number;
  enrolled: number;
  /** Still pending after this run. */
  waiting: number;
  /** Became exceptions: refused, or with no answer. */
  exceptions: number;
  /** Why the run stopped before its planned calls (a rate limit, Dotdigital unavailable…). */
  deferred?: string;
}

export async function runEnrolments(deps: EnrolmentRunDeps): Promise<EnrolmentRunResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? delay;
  const result: EnrolmentRunResult = { skipped: false, calls: 0, enrolled: 0, waiting: 0, exceptions: 0 };
  const owner = randomUUID();
  const started = now();
  if (!(await deps.leases.tryAcquire(ENROLMENT_RUN_LEASE, owner, started, started + ENROLMENT_RUN_TIMEOUT_SECONDS * 1000))) {
    return { ...result, skipped: true };
  }

  async function report(type: 'enrolment.uncertain' | 'enrolment.refused', enrolments: readonly PendingEnrolment[], reason: string): Promise<void> {
    for (const e of enrolments) {
      await deps.exceptions.record({
        type,
        marketplace: e.marketplace,
        ref: e.orderId,
        reason,
        payloadRef: e.eventId,
        component: ENROLMENT_COMPONENT,
      });
    }
    result.exceptions += enrolments.length;
  }

  /** Clears a call: what it enrolled (or reported) leaves the pending set, then the call record goes. */
  async function finish(call: EnrolmentCall): Promise<void> {
    await deps.store.remove(call.enrolments);
    await deps.store.end(call.id);
  }

  /** Takes a call slot under the rolling cap; waits briefly when the oldest call is about to leave the window. */
  async function takeSlot(programme: number): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const log = await deps.store.callLog();
      const at = now();
      const recent = callsInWindow(log.calls, at);
      if (recent.length >= ENROLMENT_CAP.calls) {
        const freeInMs = Math.min(...recent.map((c) => c.at)) + WINDOW_MS - at + 1;
        if (freeInMs > SLOT_WAIT_MS) return false;
        await sleep(freeInMs);
        continue;
      }
      if (await deps.store.writeCallLog(log, [...recent, { at, programme }])) return true;
    }
    return false;
  }

  try {
    const left = await deps.store.inFlight();
    if (left) {
      if (left.enrolmentId === undefined) {
        await report(
          'enrolment.uncertain',
          left.enrolments,
          `Dotdigital enrolment in programme ${left.programme} (call at ${left.startedAt}) has no recorded answer: ` +
            'it may have enrolled the buyer, so it is not sent again; check the programme in Dotdigital',
        );
      }
      await finish(left);
    }

    const pending = await deps.store.pending(deps.programmes);
    const log = await deps.store.callLog();
    let remaining = pending.length;
    // Planned as of the latest moment a slot is waited for; taking the slot checks the cap as of the call.
    const plan = planEnrolments(pending, log.calls, now() + SLOT_WAIT_MS);
    if (pending.length > 0 && plan.length === 0) result.deferred = NO_SLOT;
    for (const planned of plan) {
      if (!(await takeSlot(planned.programme))) {
        result.deferred = NO_SLOT;
        break;
      }
      const call: EnrolmentCall = { id: randomUUID(), programme: planned.programme, enrolments: planned.enrolments, startedAt: new Date(now()).toISOString() };
      if (!(await deps.store.begin(call))) throw new Error('an enrolment call is already recorded: another run is going');
      result.calls += 1;
      const outcome = await deps.enrol(planned.programme, planned.contactIds);
      if (outcome.kind === 'later' || outcome.kind === 'not-sent') {
        await deps.store.end(call.id);
        if (outcome.kind === 'not-sent') throw outcome.error;
        result.deferred = outcome.reason;
        break;
      }
      if (outcome.kind === 'enrolled') {
        await deps.store.answered(call.id, outcome.enrolmentId);
        result.enrolled += planned.enrolments.length;
      } else {
        const refused = outcome.kind === 'refused';
        const why = refused ? 'Dotdigital refused the enrolment' : 'Dotdigital did not answer the enrolment; it may have enrolled the buyer, so it is not sent again';
        await report(refused ? 'enrolment.refused' : 'enrolment.uncertain', planned.enrolments, `${why} (programme ${planned.programme}): ${outcome.reason}`);
      }
      await finish(call);
      remaining -= planned.enrolments.length;
    }
    result.waiting = remaining;
    return result;
  } finally {
    await deps.leases.release(ENROLMENT_RUN_LEASE, owner);
  }
}
