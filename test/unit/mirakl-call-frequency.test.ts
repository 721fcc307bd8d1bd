import { describe, expect, it } from 'vitest';
import { createHttpClient } from '../../functions/shared/http';
import {
  type CallOutcome,
  type CallSlotStore,
  type GuardedOperation,
  InMemoryCallSlotStore,
  callOutcome,
  createCallFrequencyGuard,
  minIntervalMs,
} from '../../functions/shared/mirakl/callFrequency';
import { describeCallSlotPolicy } from '../support/callSlotPolicy';
import { type FetchStep, fakeFetch, jsonResponse, networkError, textResponse } from '../support/fakeFetch';

const T0 = Date.parse('2026-11-22T06:00:00Z');
const MINUTE = 60_000;

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

/** Records every slot a guard takes, delegating to the in-memory store. */
function spyStore() {
  const inner = new InMemoryCallSlotStore();
  const calls: [string, number, number][] = [];
  const store: CallSlotStore = {
    tryAcquire: (key, interval, nowMs) => {
      calls.push([key, interval, nowMs]);
      return inner.tryAcquire(key, interval, nowMs);
    },
    restore: (...args) => inner.restore(...args),
    allowRetry: (...args) => inner.allowRetry(...args),
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

describe('call outcome, as the HTTP layer reports a failed SH21', () => {
  /** The error the shared HTTP layer throws for one scripted attempt. */
  async function failureOf(step: FetchStep): Promise<unknown> {
    const http = createHttpClient({ fetch: fakeFetch([step]).fetch, timeoutMs: 20, retry: { maxAttempts: 1 } });
    return http.request({ operation: 'SH21', method: 'GET', url: 'https://debenhams.mirakl.test/api/shipping/carriers' }).then(
      () => expect.fail('the call should fail'),
      (error: unknown) => error,
    );
  }

  it.each<[string, CallOutcome, FetchStep]>([
    ['HTTP 429', 'answered', textResponse('slow down', 429, { 'retry-after': '60' })],
    ['HTTP 503', 'answered', textResponse('<html>proxy</html>', 503)],
    ['HTTP 401', 'answered', textResponse('no', 401)],
    ['a 200 that is not JSON', 'answered', textResponse('{', 200, { 'content-type': 'application/json' })],
    ['connection refused', 'not-sent', networkError('ECONNREFUSED')],
    ['DNS failure', 'not-sent', networkError('ENOTFOUND')],
    ['connect timeout', 'not-sent', networkError('UND_ERR_CONNECT_TIMEOUT')],
    ['connection reset', 'unknown', networkError('ECONNRESET')],
    ['socket closed', 'unknown', networkError('UND_ERR_SOCKET')],
    ['no answer in time', 'unknown', 'hang'],
  ])('%s: %s', async (_what, outcome, step) => {
    expect(callOutcome(await failureOf(step))).toBe(outcome);
  });

  it('an error that did not come from the HTTP layer is not ours to give back', () => {
    expect(callOutcome(new Error('boom'))).toBe('unknown');
  });

  it('a successful call is returned as is and counts', async () => {
    const guard = createCallFrequencyGuard(new InMemoryCallSlotStore(), 'default', { now: () => T0 });
    const http = createHttpClient({ fetch: fakeFetch([jsonResponse({ carriers: [] })]).fetch });
    const send = async () => (await http.request({ operation: 'SH21', method: 'GET', url: 'https://m.test/api/shipping/carriers' })).json;
    expect(await guard.call('debenhams', 'SH21', send)).toEqual({ status: 'done', value: { carriers: [] } });
    expect(await guard.call('debenhams', 'SH21', send)).toEqual({ status: 'refused', retryInMs: 24 * 60 * MINUTE });
  });
});

describeCallSlotPolicy('in-memory store', () => new InMemoryCallSlotStore());
