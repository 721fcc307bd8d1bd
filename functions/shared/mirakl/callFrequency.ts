/**
 * Never call a Mirakl operation faster than its published maximum. Mirakl's limits are per operator instance and
 * not published as numbers; each operation's "Call Frequency" block in the seller OpenAPI is the contract, and
 * breaking it risks 429s or the operator throttling the shop.
 *
 * The guard works per logical call as Mirakl counts it: one poll is one OR11 call even when it pages, so callers
 * take one slot per run, not per page. Slots are shared by every Lambda through a `CallSlotStore` (DynamoDB with
 * single conditional writes in AWS; `InMemoryCallSlotStore` for tests, `plan` and the local runtime). A call made
 * through `call` settles its slot by how far a failure got (CallOutcome): a call Mirakl never saw gives the slot
 * back, one it may have seen reopens a daily slot early but boundedly (UNCERTAIN_RETRY), one it answered counts.
 */

import { setTimeout as delay } from 'node:timers/promises';
import { HttpError, neverSent } from '../http';

export type MiraklPersona = 'default' | 'external-partner';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** Operations this product calls that have a published frequency contract (or, for PC01, our own). */
export type GuardedOperation =
  | 'OR11'
  | 'OR13'
  | 'OR13:full'
  | 'OR14'
  | 'OR15'
  | 'OR21'
  | 'OR23'
  | 'OR24'
  | 'SH21'
  | 'STO01'
  | 'STO02'
  | 'STO03'
  | 'OF52'
  | 'OF52:full'
  | 'PC01';

type Rule =
  /** At most one call per interval for the marketplace. */
  | { minIntervalMs: number; externalPartnerMinIntervalMs?: number; alsoTakes?: GuardedOperation }
  /** Limited per order / per file, not globally: nothing to guard at marketplace level. */
  | { perResource: true };

/**
 * Maximum usage per operation, from `Call Frequency` → "Maximum usage" in
 * ../shared/specs/mirakl/mirakl-mmp-seller-openapi.json (quoted per entry). `…:full` entries are full exports of
 * operations whose spec gives separate differential and full limits; a full export is still a call of the same
 * operation, so it also takes the operation's own slot (`alsoTakes`).
 */
export const CALL_FREQUENCY: Readonly<Record<GuardedOperation, Rule>> = {
  // OR11 GET /api/orders: Default "Asynchronous: once per minute"; External Partner "Asynchronous: every 15 minutes".
  OR11: { minIntervalMs: MINUTE, externalPartnerMinIntervalMs: 15 * MINUTE },
  // OR13 POST /api/orders/async-export: "Differential: every 5 minutes", "Full: every 24 hours".
  OR13: { minIntervalMs: 5 * MINUTE },
  'OR13:full': { minIntervalMs: DAY, alsoTakes: 'OR13' },
  // OR14 GET /api/orders/async-export/status/{tracking_id}: "Every 2 seconds per OR13 call". One export per shop
  // at a time ("Only one export request can be created for the same shop account"), so per marketplace is exact.
  OR14: { minIntervalMs: 2 * SECOND },
  // OR15 (file URLs from OR14): "Once per file URL returned by OR14, after COMPLETED status".
  OR15: { perResource: true },
  // OR21 accept: "At each new order on the Marketplace".
  OR21: { perResource: true },
  // OR23 tracking: "At each order tracking information update".
  OR23: { perResource: true },
  // OR24 ship: "Each time the tracking number is entered (OR23)".
  OR24: { perResource: true },
  // SH21 GET /api/shipping/carriers: "Once per day".
  SH21: { minIntervalMs: DAY },
  // STO01 POST /api/offers/stock/imports: "Once per minute".
  STO01: { minIntervalMs: MINUTE },
  // STO02 GET /api/offers/stock/imports/{import_id}/status: "Once every 15 seconds".
  STO02: { minIntervalMs: 15 * SECOND },
  // STO03 GET /api/offers/stock/imports/{import_id}/error_report: "Once per minute".
  STO03: { minIntervalMs: MINUTE },
  // OF52 POST /api/offers/export/async: "Differential: once per minute", "Full: once per day".
  OF52: { minIntervalMs: MINUTE },
  'OF52:full': { minIntervalMs: DAY, alsoTakes: 'OF52' },
  // PC01 GET /api/platform/configuration has NO Call Frequency block in the spec. Once per day is our own limit:
  // the platform configuration changes only when the operator reconfigures the instance.
  PC01: { minIntervalMs: DAY },
};

/** Minimum interval between two calls of `operation` for one marketplace; undefined when limited per resource only. */
export function minIntervalMs(operation: GuardedOperation, persona: MiraklPersona): number | undefined {
  const rule = CALL_FREQUENCY[operation];
  if ('perResource' in rule) return undefined;
  if (persona === 'external-partner') return rule.externalPartnerMinIntervalMs ?? rule.minIntervalMs;
  return rule.minIntervalMs;
}

/**
 * How far a failed call got, which decides what its slot becomes:
 * - `answered`: Mirakl sent an HTTP status (any, 429 and 5xx included), so it counted the call: the slot stays used.
 * - `not-sent`: the connection failed before the request was written (refused, DNS, no route): Mirakl never saw
 *   it, so the slot is given back.
 * - `unknown`: a timeout, a reset or anything else after the request may have been written: the slot counts, but
 *   a long-interval operation may be retried early (UNCERTAIN_RETRY).
 */
export type CallOutcome = 'answered' | 'not-sent' | 'unknown';

export function callOutcome(error: unknown): CallOutcome {
  // Anything but the HTTP layer's own error may have come after the request left: not ours to give back.
  if (!(error instanceof HttpError)) return 'unknown';
  // A status means an answer, even when the body then failed to arrive or parse.
  if (error.status !== undefined) return 'answered';
  return neverSent(error) ? 'not-sent' : 'unknown';
}

/**
 * Early retries after a call whose outcome is unknown, for operations whose interval is longer than `afterMs`
 * (the daily ones: SH21, PC01, OR13:full, OF52:full).
 *
 * "Maximum usage: Once per day" limits the calls Mirakl receives. A request that timed out or was reset may or may
 * not have been received; waiting the whole day for it would turn a network blip into a day without the data
 * (for SH21, a day of unmapped carriers), while retrying freely could hammer an instance that is already slow. So
 * the doubtful call counts, but its slot reopens `afterMs` later, at most `retries` times per interval: even if
 * every doubtful call reached Mirakl, it sees at most 1 + `retries` calls of the operation in a day, spaced at
 * least `afterMs` apart. Five minutes is shorter than a deployed connector's SQS visibility timeout (6 × 90 s), so
 * the record whose call failed finds the retry open on its redelivery. Calls Mirakl answered never reopen early.
 */
export const UNCERTAIN_RETRY = { afterMs: 5 * MINUTE, retries: 2 } as const;

/** A slot as stored. */
export interface SlotRecord {
  /** When the call the interval counts from was granted. */
  lastCallAt: number;
  /** Set after a call whose outcome is unknown: another call may be granted from then, inside the interval. */
  retryFrom?: number;
  /**
   * Doubtful calls in a row, bounding the early retries. Left as it was by a grant; the guard reads it only for
   * a call granted inside the previous call's interval, i.e. by an early retry.
   */
  uncertainCalls?: number;
}

/** A slot is free from the end of its interval, or from an allowed early retry if that comes first. */
function slotFreeAt(slot: SlotRecord, minIntervalMs: number): number {
  return Math.min(slot.lastCallAt + minIntervalMs, slot.retryFrom ?? Number.POSITIVE_INFINITY);
}

/**
 * Shared slots; every method is one conditional write.
 * - `tryAcquire` grants the slot when it is free at `nowMs` (see slotFreeAt), recording `nowMs` as its last call
 *   and clearing any early retry; it returns what it replaced, so the grant can be undone. Otherwise it refuses
 *   and records nothing.
 * - `restore` undoes the grant made at `grantedAt` (a call that never reached Mirakl), unless the slot has been
 *   granted again since.
 * - `allowRetry` lets the slot granted at `grantedAt` reopen early (a call whose outcome is unknown).
 */
export interface CallSlotStore {
  tryAcquire(key: string, minIntervalMs: number, nowMs: number): Promise<{ granted: true; previous: SlotRecord | undefined } | { granted: false }>;
  restore(key: string, grantedAt: number, previous: SlotRecord | undefined): Promise<boolean>;
  allowRetry(key: string, grantedAt: number, retry: { retryFrom: number; uncertainCalls: number }): Promise<boolean>;
}

export class InMemoryCallSlotStore implements CallSlotStore {
  private readonly slots = new Map<string, SlotRecord>();

  async tryAcquire(key: string, minIntervalMs: number, nowMs: number) {
    const slot = this.slots.get(key);
    // A clock that moved backwards also refuses: better a skipped poll than a broken contract.
    if (slot !== undefined && slotFreeAt(slot, minIntervalMs) > nowMs) return { granted: false } as const;
    // The early retry, if any, is used up; the doubt count stays for the next outcome to read.
    this.slots.set(key, { lastCallAt: nowMs, ...(slot?.uncertainCalls === undefined ? {} : { uncertainCalls: slot.uncertainCalls }) });
    return { granted: true, previous: slot } as const;
  }

  async restore(key: string, grantedAt: number, previous: SlotRecord | undefined): Promise<boolean> {
    if (this.slots.get(key)?.lastCallAt !== grantedAt) return false;
    if (previous === undefined) this.slots.delete(key);
    else this.slots.set(key, { ...previous });
    return true;
  }

  async allowRetry(key: string, grantedAt: number, retry: { retryFrom: number; uncertainCalls: number }): Promise<boolean> {
    const slot = this.slots.get(key);
    if (slot?.lastCallAt !== grantedAt) return false;
    this.slots.set(key, { ...slot, ...retry });
    return true;
  }
}

export function slotKey(marketplaceId: string, operation: GuardedOperation): string {
  return `${marketplaceId}#${operation}`;
}

export interface CallGrant {
  granted: boolean;
  /**
   * When refused: wait at most this long before asking again. The store does not say when the slot was taken,
   * so this is the full interval, an upper bound.
   */
  retryInMs?: number;
}

/**
 * Asks for a call slot until it is granted or `patienceMs` of waiting is spent, asking every `pollEveryMs` (a
 * refusal's retryInMs is only an upper bound, so polling gets the slot sooner); returns the last answer.
 */
export async function waitForCallSlot<Operation extends string>(
  gate: { acquire(marketplaceId: string, operation: Operation): Promise<CallGrant> },
  marketplaceId: string,
  operation: Operation,
  options: { patienceMs: number; pollEveryMs: number; sleep?: (ms: number) => Promise<unknown> },
): Promise<CallGrant> {
  const sleep = options.sleep ?? delay;
  for (let waited = 0; ; ) {
    const grant = await gate.acquire(marketplaceId, operation);
    if (grant.granted || waited >= options.patienceMs) return grant;
    const wait = Math.min(options.pollEveryMs, options.patienceMs - waited);
    await sleep(wait);
    waited += wait;
  }
}

/** One logical call made under its slot by `CallFrequencyGuard.call`. */
export type GuardedCall<T> =
  | { status: 'done'; value: T }
  | { status: 'refused'; retryInMs: number }
  | {
      status: 'failed';
      error: unknown;
      /** What the failure did to the slot: given back (never sent), reopened early (outcome unknown) or used. */
      slot: 'given-back' | 'retry-allowed' | 'used';
      /** When the next call may be made: 0 when given back, else an upper bound as for CallGrant. */
      retryInMs: number;
    };

export interface CallFrequencyGuard {
  /** Takes the slot for a call; the call then counts whatever happens to it. */
  acquire(marketplaceId: string, operation: GuardedOperation): Promise<CallGrant>;
  /** Takes the slot, makes the call and, when it fails, settles the slot by how far it got (CallOutcome). */
  call<T>(marketplaceId: string, operation: GuardedOperation, send: () => Promise<T>): Promise<GuardedCall<T>>;
}

/** A slot this guard holds for a call in progress. */
interface Held {
  key: string;
  intervalMs: number;
  grantedAt: number;
  previous: SlotRecord | undefined;
}

export function createCallFrequencyGuard(
  store: CallSlotStore,
  persona: MiraklPersona,
  options: { now?: () => number } = {},
): CallFrequencyGuard {
  const now = options.now ?? Date.now;

  async function giveBack(held: readonly Held[]): Promise<void> {
    for (const slot of [...held].reverse()) await store.restore(slot.key, slot.grantedAt, slot.previous);
  }

  /** The slots a call of `operation` needs, all or none; a refusal says the longest wait it knows of. */
  async function take(marketplaceId: string, operation: GuardedOperation): Promise<Held[] | { retryInMs: number }> {
    // '#' separates the key parts; allowing it would let two marketplaces share a slot.
    if (!marketplaceId || marketplaceId.includes('#')) {
      throw new Error('marketplace id must be non-empty, without "#"');
    }
    const rule = CALL_FREQUENCY[operation];
    // The shorter base slot is taken first: a refusal then wastes at most one short interval, never a day.
    const operations = 'alsoTakes' in rule && rule.alsoTakes !== undefined ? [rule.alsoTakes, operation] : [operation];
    const held: Held[] = [];
    for (const op of operations) {
      const intervalMs = minIntervalMs(op, persona);
      if (intervalMs === undefined) continue;
      const key = slotKey(marketplaceId, op);
      const grantedAt = now();
      const taken = await store.tryAcquire(key, intervalMs, grantedAt);
      if (!taken.granted) {
        // No call will be made: a base slot already taken goes back.
        await giveBack(held);
        return { retryInMs: intervalMs };
      }
      held.push({ key, intervalMs, grantedAt, previous: taken.previous });
    }
    return held;
  }

  /** After a call whose outcome is unknown: reopens long slots early, within UNCERTAIN_RETRY's bound. */
  async function allowRetries(held: readonly Held[]): Promise<boolean> {
    let allowed = false;
    for (const slot of held) {
      if (slot.intervalMs <= UNCERTAIN_RETRY.afterMs) continue;
      // Granted inside the interval of the previous call, so only by an early retry: the doubts add up.
      const previous = slot.previous;
      const wasRetry = previous !== undefined && slot.grantedAt - previous.lastCallAt < slot.intervalMs;
      const uncertainCalls = (wasRetry ? (previous.uncertainCalls ?? 0) : 0) + 1;
      if (uncertainCalls > UNCERTAIN_RETRY.retries) continue;
      const retry = { retryFrom: slot.grantedAt + UNCERTAIN_RETRY.afterMs, uncertainCalls };
      allowed = (await store.allowRetry(slot.key, slot.grantedAt, retry)) || allowed;
    }
    return allowed;
  }

  return {
    async acquire(marketplaceId, operation) {
      const taken = await take(marketplaceId, operation);
      return Array.isArray(taken) ? { granted: true } : { granted: false, retryInMs: taken.retryInMs };
    },

    async call(marketplaceId, operation, send) {
      const taken = await take(marketplaceId, operation);
      if (!Array.isArray(taken)) return { status: 'refused', retryInMs: taken.retryInMs };
      try {
        return { status: 'done', value: await send() };
      } catch (error) {
        const longest = Math.max(0, ...taken.map((slot) => slot.intervalMs));
        const outcome = callOutcome(error);
        if (outcome === 'not-sent') {
          await giveBack(taken);
          return { status: 'failed', error, slot: 'given-back', retryInMs: 0 };
        }
        if (outcome === 'unknown' && (await allowRetries(taken))) {
          return { status: 'failed', error, slot: 'retry-allowed', retryInMs: UNCERTAIN_RETRY.afterMs };
        }
        return { status: 'failed', error, slot: 'used', retryInMs: longest };
      }
    },
  };
}

/** One guard for several marketplaces, each with its own persona's limits. */
export function createMarketplaceGuard(
  marketplaces: readonly { id: string; persona: MiraklPersona }[],
  store: CallSlotStore,
  options: { now?: () => number } = {},
): CallFrequencyGuard {
  const guards = new Map(marketplaces.map((mp) => [mp.id, createCallFrequencyGuard(store, mp.persona, options)]));
  const guardOf = (marketplaceId: string) => {
    const guard = guards.get(marketplaceId);
    if (!guard) throw new Error(`unknown marketplace "${marketplaceId}"`);
    return guard;
  };
  return {
    acquire: (marketplaceId, operation) => guardOf(marketplaceId).acquire(marketplaceId, operation),
    call: (marketplaceId, operation, send) => guardOf(marketplaceId).call(marketplaceId, operation, send),
  };
}
