/**
 * The call-slot policy, as scenarios any `CallSlotStore` must pass: the in-memory store (unit) and the DynamoDB
 * adapter on dynalite (integration) run the same ones, so both keep answered calls counted, give back calls that
 * never left, and reopen daily slots early only within UNCERTAIN_RETRY's bound.
 */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../functions/shared/http';
import {
  type CallSlotStore,
  type GuardedOperation,
  UNCERTAIN_RETRY,
  createCallFrequencyGuard,
} from '../../functions/shared/mirakl/callFrequency';
import { networkError } from './fakeFetch';

const T0 = Date.parse('2026-11-22T06:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const RETRY = UNCERTAIN_RETRY.afterMs;

/** What the HTTP layer throws for each way a call can fail. */
export const failures = {
  answered: (status: number) => new HttpError({ operation: 'SH21', kind: 'status', status, retryable: status >= 500 || status === 429, attempts: 1 }),
  notSent: (code = 'ECONNREFUSED') => new HttpError({ operation: 'SH21', kind: 'network', retryable: true, attempts: 1, detail: code, cause: networkError(code) }),
  reset: () => new HttpError({ operation: 'SH21', kind: 'network', retryable: true, attempts: 1, detail: 'ECONNRESET', cause: networkError('ECONNRESET') }),
  timeout: () => new HttpError({ operation: 'SH21', kind: 'timeout', retryable: true, attempts: 1, detail: 'no response within 10000 ms' }),
};

let marketplaces = 0;

export function describeCallSlotPolicy(name: string, store: () => CallSlotStore): void {
  describe(`call-slot policy: ${name}`, () => {
    function setup() {
      let now = T0;
      const guard = createCallFrequencyGuard(store(), 'default', { now: () => now });
      // A marketplace of its own per scenario, so scenarios sharing one table never meet.
      const mp = `slots${(marketplaces += 1)}`;
      const call = (operation: GuardedOperation, outcome: Error | 'ok') =>
        guard.call(mp, operation, async () => {
          if (outcome === 'ok') return 'list';
          throw outcome;
        });
      const status = async (operation: GuardedOperation, outcome: Error | 'ok') => (await call(operation, outcome)).status;
      return { guard, mp, call, status, at: (ms: number) => void (now = T0 + ms) };
    }

    it.each([429, 500, 503, 400])('a call Mirakl answered with HTTP %i counts for the whole interval', async (code) => {
      const { call, status, at } = setup();
      expect(await call('SH21', failures.answered(code))).toMatchObject({ status: 'failed', slot: 'used', retryInMs: DAY });
      at(DAY - 1);
      expect(await status('SH21', 'ok')).toBe('refused');
      at(DAY);
      expect(await status('SH21', 'ok')).toBe('done');
    });

    it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])('a call that never left (%s) gives its slot back', async (code) => {
      const { call, status, at } = setup();
      expect(await call('SH21', failures.notSent(code))).toMatchObject({ status: 'failed', slot: 'given-back', retryInMs: 0 });
      expect(await call('SH21', 'ok')).toEqual({ status: 'done', value: 'list' });
      at(DAY - 1);
      expect(await status('SH21', 'ok')).toBe('refused');
    });

    it(`an unknown outcome reopens a daily slot after ${RETRY / MINUTE} min, at most ${UNCERTAIN_RETRY.retries} times until a full interval passes`, async () => {
      const { call, status, at } = setup();
      expect(await call('SH21', failures.timeout())).toMatchObject({ status: 'failed', slot: 'retry-allowed', retryInMs: RETRY });
      at(RETRY - 1);
      expect(await status('SH21', 'ok')).toBe('refused');
      at(RETRY);
      expect(await call('SH21', failures.reset())).toMatchObject({ slot: 'retry-allowed' });
      at(2 * RETRY);
      // The third doubtful call in a row: Mirakl may have seen three, so the day is spent.
      expect(await call('SH21', failures.timeout())).toMatchObject({ status: 'failed', slot: 'used', retryInMs: DAY });
      at(3 * RETRY);
      expect(await status('SH21', 'ok')).toBe('refused');
      at(2 * RETRY + DAY - 1);
      expect(await status('SH21', 'ok')).toBe('refused');
      // A full interval later the slot opens as new, doubts forgotten.
      at(2 * RETRY + DAY);
      expect(await call('SH21', failures.timeout())).toMatchObject({ slot: 'retry-allowed' });
    });

    it('an early retry that is answered is the call the interval counts from', async () => {
      const { status, at } = setup();
      await status('SH21', failures.timeout());
      at(RETRY);
      expect(await status('SH21', 'ok')).toBe('done');
      at(RETRY + DAY - 1);
      expect(await status('SH21', 'ok')).toBe('refused');
      at(RETRY + DAY);
      expect(await status('SH21', 'ok')).toBe('done');
    });

    it('an early retry that never left is given back with its doubts, so the bound still holds', async () => {
      const { call, at } = setup();
      await call('SH21', failures.timeout());
      at(RETRY);
      expect(await call('SH21', failures.notSent())).toMatchObject({ slot: 'given-back' });
      expect(await call('SH21', failures.timeout())).toMatchObject({ slot: 'retry-allowed' });
      at(2 * RETRY);
      expect(await call('SH21', failures.timeout())).toMatchObject({ slot: 'used' });
    });

    it('short intervals never reopen early: an unknown OR11 outcome waits its minute', async () => {
      const { call, status, at } = setup();
      expect(await call('OR11', failures.timeout())).toMatchObject({ slot: 'used', retryInMs: MINUTE });
      at(MINUTE - 1);
      expect(await status('OR11', 'ok')).toBe('refused');
      at(MINUTE);
      expect(await status('OR11', 'ok')).toBe('done');
    });

    it('a full export gives back both its slots when it never left, and its base slot when the day is spent', async () => {
      const { guard, mp, call, status, at } = setup();
      expect(await call('OR13:full', failures.notSent())).toMatchObject({ slot: 'given-back' });
      expect(await status('OR13', 'ok')).toBe('done');
      at(5 * MINUTE);
      expect(await status('OR13:full', 'ok')).toBe('done');
      at(10 * MINUTE);
      // The daily slot is spent: no call, and the differential slot taken on the way is free again.
      expect(await guard.acquire(mp, 'OR13:full')).toEqual({ granted: false, retryInMs: DAY });
      expect(await guard.acquire(mp, 'OR13')).toEqual({ granted: true });
    });

    it('a full export whose outcome is unknown reopens with its base slot', async () => {
      const { call, status, at } = setup();
      expect(await call('OR13:full', failures.timeout())).toMatchObject({ slot: 'retry-allowed', retryInMs: RETRY });
      at(RETRY);
      expect(await status('OR13:full', 'ok')).toBe('done');
    });

    it('concurrent callers of a reopened slot: exactly one gets the retry', async () => {
      const { call, status, at } = setup();
      await call('SH21', failures.timeout());
      at(RETRY);
      const results = await Promise.all(Array.from({ length: 5 }, () => status('SH21', 'ok')));
      expect(results.filter((s) => s === 'done')).toHaveLength(1);
    });

    it('a grant is given back only while it is the last one', async () => {
      const slots = store();
      const key = `slots${(marketplaces += 1)}#OR14`;
      const first = await slots.tryAcquire(key, 2_000, T0);
      expect(first).toEqual({ granted: true, previous: undefined });
      // The first call hung past its interval and someone else called.
      expect(await slots.tryAcquire(key, 2_000, T0 + 2_000)).toEqual({ granted: true, previous: { lastCallAt: T0 } });
      expect(await slots.restore(key, T0, undefined)).toBe(false);
      expect(await slots.allowRetry(key, T0, { retryFrom: T0 + 1, uncertainCalls: 1 })).toBe(false);
      expect(await slots.tryAcquire(key, 2_000, T0 + 3_999)).toEqual({ granted: false });
    });
  });
}
