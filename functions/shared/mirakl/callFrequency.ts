/**
 * Never call a Mirakl operation faster than its published maximum. Mirakl's limits are per operator instance and
 * not published as numbers; each operation's "Call Frequency" block in the seller OpenAPI is the contract, and
 * breaking it risks 429s or the operator throttling the shop.
 *
 * The guard works per logical call as Mirakl counts it: one poll is one OR11 call even when it pages, so callers
 * take one slot per run, not per page. Slots are shared by every Lambda through a `CallSlotStore` (DynamoDB with a
 * conditional write in AWS; `InMemoryCallSlotStore` for tests, `plan` and the local runtime).
 */

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
 * Shared slots. `tryAcquire` atomically grants the slot when none was granted for `key` within the last
 * `minIntervalMs` before `nowMs` (and then records `nowMs`), otherwise refuses and records nothing.
 */
export interface CallSlotStore {
  tryAcquire(key: string, minIntervalMs: number, nowMs: number): Promise<boolean>;
}

export class InMemoryCallSlotStore implements CallSlotStore {
  private readonly lastGranted = new Map<string, number>();

  async tryAcquire(key: string, minIntervalMs: number, nowMs: number): Promise<boolean> {
    const last = this.lastGranted.get(key);
    // A clock that moved backwards also refuses: better a skipped poll than a broken contract.
    if (last !== undefined && nowMs - last < minIntervalMs) return false;
    this.lastGranted.set(key, nowMs);
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

export interface CallFrequencyGuard {
  acquire(marketplaceId: string, operation: GuardedOperation): Promise<CallGrant>;
}

export function createCallFrequencyGuard(
  store: CallSlotStore,
  persona: MiraklPersona,
  options: { now?: () => number } = {},
): CallFrequencyGuard {
  const now = options.now ?? Date.now;

  async function take(marketplaceId: string, operation: GuardedOperation): Promise<CallGrant> {
    const interval = minIntervalMs(operation, persona);
    if (interval === undefined) return { granted: true };
    const granted = await store.tryAcquire(slotKey(marketplaceId, operation), interval, now());
    return granted ? { granted } : { granted, retryInMs: interval };
  }

  return {
    async acquire(marketplaceId, operation) {
      // '#' separates the key parts; allowing it would let two marketplaces share a slot.
      if (!marketplaceId || marketplaceId.includes('#')) {
        throw new Error('marketplace id must be non-empty, without "#"');
      }
      const rule = CALL_FREQUENCY[operation];
      // The shorter base slot is taken first: a refusal then wastes at most one short interval, never a day.
      if ('alsoTakes' in rule && rule.alsoTakes !== undefined) {
        const base = await take(marketplaceId, rule.alsoTakes);
        if (!base.granted) return base;
      }
      return take(marketplaceId, operation);
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
  return {
    acquire(marketplaceId, operation) {
      const guard = guards.get(marketplaceId);
      if (!guard) throw new Error(`unknown marketplace "${marketplaceId}"`);
      return guard.acquire(marketplaceId, operation);
    },
  };
}
