import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BulkWindow } from '../../functions/shared/connector/bulkWindow';
import { PermanentError, classify } from '../../functions/shared/connector/failures';
import { RatePacer, shareOf } from '../../functions/shared/connector/pacer';
import { parseRecord } from '../../functions/shared/connector/runtime';
import type { BusinessEvent } from '../../functions/shared/events';
import { HttpError } from '../../functions/shared/http';
import { eventBridgeEnvelope, orderLifeEvents, sqsRecord } from '../support/klaviyoFixtures';

describe('failure classification', () => {
  it('splits retryable from permanent', () => {
    expect(classify(new HttpError({ operation: 'x', kind: 'status', status: 429, retryable: true, rateLimited: true, attempts: 4 }))).toMatchObject({
      retryable: true,
      rateLimited: true,
    });
    expect(classify(new HttpError({ operation: 'x', kind: 'status', status: 400, retryable: false, attempts: 1 })).retryable).toBe(false);
    expect(classify(new HttpError({ operation: 'x', kind: 'timeout', retryable: true, attempts: 4 })).retryable).toBe(true);
    expect(classify(new IdempotencyAlreadyInProgressError('busy')).retryable).toBe(true);
    expect(classify(new PermanentError('no mapping'))).toEqual({ retryable: false, rateLimited: false, reason: 'no mapping' });
    expect(classify(z.object({ a: z.string() }).safeParse({}).error).retryable).toBe(false);
    expect(classify(new TypeError('boom'))).toEqual({ retryable: true, rateLimited: false, reason: 'unexpected TypeError' });
  });
});

describe('parseRecord', () => {
  const [event] = orderLifeEvents('debenhams', 'PR-A');

  it('reads an EventBridge event from an SQS body into a business event', () => {
    const parsed = parseRecord(sqsRecord(JSON.stringify(eventBridgeEnvelope(event!))));
    expect(parsed.ok && parsed.event.id).toBe('debenhams:PR-A:confirmed');
  });

  it('explains what is wrong without quoting the record', () => {
    const envelope = eventBridgeEnvelope(event!);
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      [JSON.stringify({ detail: { marketplace: 'debenhams' } }), /invalid EventBridge envelope/],
      [JSON.stringify({ ...envelope, 'detail-type': 'Order Teleported' }), /unknown detail-type "Order Teleported"/],
      [JSON.stringify({ ...envelope, detail: { ...(envelope.detail as object), order: { orderId: 'x' } } }), /invalid event: order\./],
    ];
    for (const [body, reason] of cases) {
      const parsed = parseRecord(sqsRecord(body));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error.message).toMatch(reason);
        expect(parsed.error.message).not.toContain('Jane');
      }
    }
    const unknown = parseRecord(sqsRecord(JSON.stringify({ ...envelope, 'detail-type': 'Order Teleported' })));
    expect(!unknown.ok && unknown.marketplace).toBe('debenhams');
  });
});

describe('BulkWindow', () => {
  const events = orderLifeEvents('debenhams', 'BW-A');

  it('delivers once every member has submitted or settled, in one bulk call', async () => {
    const calls: string[][] = [];
    const window = new BulkWindow(new Set(['a', 'b', 'c']), {
      deliverMany: async (batch) => void calls.push(batch.map((e) => e.id)),
      deliverOne: async () => expect.fail('no single calls'),
    });
    const a = window.submit('a', events[0]!);
    window.settle('b'); // already delivered: never submits
    expect(calls).toEqual([]);
    const c = window.submit('c', events[1]!);
    window.settle('a');
    await Promise.all([a, c]);
    expect(calls).toEqual([[events[0]!.id, events[1]!.id]]);
  });

  it('a permanent bulk failure falls back to single calls, failing only the bad record', async () => {
    const bad = events[1] as BusinessEvent;
    const singles: string[] = [];
    const window = new BulkWindow(new Set(['a', 'b', 'c']), {
      deliverMany: async () => {
        throw new PermanentError('HTTP 400');
      },
      deliverOne: async (e) => {
        if (e === bad) throw new PermanentError('rejected');
        singles.push(e.id);
      },
    });
    const results = await Promise.allSettled([window.submit('a', events[0]!), window.submit('b', bad), window.submit('c', events[2]!)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(singles.sort()).toEqual([events[0]!.id, events[2]!.id].sort());
  });

  it('a retryable bulk failure fails every member (they come back together)', async () => {
    const window = new BulkWindow(new Set(['a', 'b']), {
      deliverMany: async () => {
        throw new HttpError({ operation: 'bulk', kind: 'status', status: 503, retryable: true, attempts: 4 });
      },
      deliverOne: async () => expect.fail('no single calls'),
    });
    const results = await Promise.allSettled([window.submit('a', events[0]!), window.submit('b', events[1]!)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('RatePacer', () => {
  function fakeTime() {
    let now = 0;
    return { now: () => now, sleep: async (ms: number) => void (now += ms) };
  }

  it('never exceeds the burst or the steady limit in any window', async () => {
    const time = fakeTime();
    const pacer = new RatePacer({ op: { perSecond: 10, perMinute: 150 } }, time);
    const at: number[] = [];
    for (let i = 0; i < 400; i++) {
      await pacer.take('op');
      at.push(time.now());
    }
    for (const t of at) {
      expect(at.filter((u) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(10);
      expect(at.filter((u) => u >= t && u < t + 60_000).length).toBeLessThanOrEqual(150);
    }
    // …while using both fully: 150 per minute at 10/s, so the last 100 go out 120-130 s in.
    expect(time.now()).toBeGreaterThanOrEqual(2 * 60_000);
    expect(time.now()).toBeLessThan(2 * 60_000 + 10_000);
  });

  it('splits published limits between concurrent instances, with headroom', () => {
    expect(shareOf({ op: { perSecond: 10, perMinute: 150 } }, 0.95, 2)).toEqual({ op: { perSecond: 4, perMinute: 71 } });
    expect(shareOf({ op: { perSecond: 1, perMinute: 3 } }, 0.95, 5)).toEqual({ op: { perSecond: 1, perMinute: 1 } });
  });
});
