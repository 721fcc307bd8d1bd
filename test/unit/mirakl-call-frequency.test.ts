import { describe, expect, it } from 'vitest';
import {
  type CallSlotStore,
  type GuardedOperation,
  InMemoryCallSlotStore,
  createCallFrequencyGuard,
  minIntervalMs,
} from '../../functions/shared/mirakl/callFrequency';

const T0 = Date.parse('2026-11-22T06:00:00Z');
const MINUTE = 60_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

/** Records every store call, delegating to the in-memory store. */
function spyStore() {
  const inner = new InMemoryCallSlotStore();
  const calls: [string, number, number][] = [];
  const store: CallSlotStore = {
    tryAcquire: (key, interval, nowMs) => {
      calls.push([key, interval, nowMs]);
      return inner.tryAcquire(key, interval, nowMs);
    },
  };
  return { store, calls };
}

describe('call-frequency table', () => {
  it.each<[GuardedOperation, number | undefined, number | undefined]>([
    ['OR11', MINUTE, 15 * MINUTE],
    ['OR13', 5 * MINUTE, 5 * MINUTE],
    ['OR13:full', 24 * 60 * MINUTE, 24 * 60 * MINUTE],
    ['OR14', 2_000, 2_000],
    ['OR15', undefined, undefined],
    ['OR21', undefined, undefined],
    ['OR23', undefined, undefined],
    ['OR24', undefined, undefined],
    ['SH21', 24 * 60 * MINUTE, 24 * 60 * MINUTE],
    ['STO01', MINUTE, MINUTE],
    ['STO02', 15_000, 15_000],
    ['STO03', MINUTE, MINUTE],
    ['OF52', MINUTE, MINUTE],
    ['OF52:full', 24 * 60 * MINUTE, 24 * 60 * MINUTE],
    ['PC01', 24 * 60 * MINUTE, 24 * 60 * MINUTE],
  ])('%s: default %s ms, external partner %s ms', (operation, byDefault, externalPartner) => {
    expect(minIntervalMs(operation, 'default')).toBe(byDefault);
    expect(minIntervalMs(operation, 'external-partner')).toBe(externalPartner);
  });
});

describe('call-frequency guard', () => {
  it('OR11 (default persona): once per minute, refusals say when to ask again', async () => {
    const time = clock();
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default', { now: time.now });
    expect(await guard.acquire('debenhams', 'OR11')).toEqual({ granted: true });
    time.advance(MINUTE - 1);
    expect(await guard.acquire('debenhams', 'OR11')).toEqual({ granted: false, retryInMs: MINUTE });
    time.advance(1);
    expect(await guard.acquire('debenhams', 'OR11')).toEqual({ granted: true });
  });

  it('OR11 (external partner): every 15 minutes', async () => {
    const time = clock();
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'external-partner', { now: time.now });
    expect((await guard.acquire('decathlon', 'OR11')).granted).toBe(true);
    time.advance(14 * MINUTE);
    expect(await guard.acquire('decathlon', 'OR11')).toEqual({ granted: false, retryInMs: 15 * MINUTE });
    time.advance(MINUTE);
    expect((await guard.acquire('decathlon', 'OR11')).granted).toBe(true);
  });

  it('keys slots by marketplace and operation', async () => {
    const { store, calls } = spyStore();
    const guard = createCallFrequencyGuard(store, 'default', { now: () => T0 });
    expect((await guard.acquire('debenhams', 'OR11')).granted).toBe(true);
    expect((await guard.acquire('decathlon', 'OR11')).granted).toBe(true);
    expect((await guard.acquire('debenhams', 'STO01')).granted).toBe(true);
    expect((await guard.acquire('debenhams', 'OR11')).granted).toBe(false);
    expect(calls).toEqual([
      ['debenhams#OR11', MINUTE, T0],
      ['decathlon#OR11', MINUTE, T0],
      ['debenhams#STO01', MINUTE, T0],
      ['debenhams#OR11', MINUTE, T0],
    ]);
  });

  it('per-order operations are never refused and never touch the store', async () => {
    const { store, calls } = spyStore();
    const guard = createCallFrequencyGuard(store, 'default', { now: () => T0 });
    for (const operation of ['OR15', 'OR21', 'OR23', 'OR24'] as const) {
      expect(await guard.acquire('debenhams', operation)).toEqual({ granted: true });
      expect(await guard.acquire('debenhams', operation)).toEqual({ granted: true });
    }
    expect(calls).toEqual([]);
  });

  it('a full export also takes the differential slot, and a refused base slot spends no daily slot', async () => {
    const time = clock();
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default', { now: time.now });
    expect((await guard.acquire('debenhams', 'OF52')).granted).toBe(true);
    // Differential slot busy: the full export waits for it and its daily slot stays free.
    expect(await guard.acquire('debenhams', 'OF52:full')).toEqual({ granted: false, retryInMs: MINUTE });
    time.advance(MINUTE);
    expect((await guard.acquire('debenhams', 'OF52:full')).granted).toBe(true);
    // The full export counted as an OF52 call.
    expect((await guard.acquire('debenhams', 'OF52')).granted).toBe(false);
    time.advance(MINUTE);
    expect((await guard.acquire('debenhams', 'OF52')).granted).toBe(true);
    time.advance(MINUTE);
    expect(await guard.acquire('debenhams', 'OF52:full')).toEqual({ granted: false, retryInMs: 24 * 60 * MINUTE });
  });

  it('concurrent callers: exactly one wins the slot', async () => {
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default', { now: () => T0 });
    const results = await Promise.all(Array.from({ length: 10 }, () => guard.acquire('debenhams', 'OR11')));
    expect(results.filter((r) => r.granted)).toHaveLength(1);
  });

  it('refuses when the clock moves backwards', async () => {
    const time = clock();
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default', { now: time.now });
    expect((await guard.acquire('debenhams', 'STO01')).granted).toBe(true);
    time.set(T0 - 10 * MINUTE);
    expect((await guard.acquire('debenhams', 'STO01')).granted).toBe(false);
  });

  it('rejects marketplace ids that could collide in the key', async () => {
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default');
    await expect(guard.acquire('a#b', 'OR11')).rejects.toThrow(/without "#"/);
    await expect(guard.acquire('', 'OR11')).rejects.toThrow(/non-empty/);
  });
});
