import { IdempotencyAlreadyInProgressError, IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, type IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { BulkWindow } from '../../functions/shared/connector/bulkWindow';
import { PermanentError, RetryableError, classify } from '../../functions/shared/connector/failures';
import { RatePacer, shareOf } from '../../functions/shared/connector/pacer';
import { DEFAULT_MAX_RECEIVE_COUNT, createBatchHandler, parseRecord } from '../../functions/shared/connector/runtime';
import type { BusinessEvent } from '../../functions/shared/events';
import type { ExceptionInput } from '../../functions/shared/exceptions';
import { HttpError } from '../../functions/shared/http';
import { lambdaContext } from '../../local/lambda';
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
    expect(classify(new RetryableError('list unread', { exceptionType: 'carrier.unknown' }))).toEqual({
      retryable: true,
      rateLimited: false,
      reason: 'list unread',
      exceptionType: 'carrier.unknown',
    });
  });
});

/** Idempotency records in memory: enough for records that fail (put in progress, then deleted). */
class MemoryPersistence extends BasePersistenceLayer {
  private readonly records = new Map<string, IdempotencyRecord>();
  protected async _getRecord(key: string): Promise<IdempotencyRecord> {
    const record = this.records.get(key);
    if (!record) throw new IdempotencyItemNotFoundError();
    return record;
  }
  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
  }
  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
  }
  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
  }
}

describe('a retryable failure on the last receive', () => {
  const [event] = orderLifeEvents('debenhams', 'RT-A');

  async function deliverFailing(error: Error, receiveCount: number) {
    const exceptions: ExceptionInput[] = [];
    const handler = createBatchHandler({
      name: 'mirakl-tracking',
      connector: { deliverOne: () => Promise.reject(error) },
      persistenceStore: new MemoryPersistence(),
      exceptions: { record: async (exception) => void exceptions.push(exception) },
      logger: new Logger({ serviceName: 'runtime-test', logLevel: 'CRITICAL' }),
      metrics: new Metrics({ namespace: 'MarketBridgeTest', serviceName: 'runtime-test' }),
    });
    const record = sqsRecord(JSON.stringify(eventBridgeEnvelope(event!)), receiveCount);
    const response = await handler({ Records: [record] }, lambdaContext('mirakl-tracking')).catch(() => undefined);
    return { failed: response === undefined || response.batchItemFailures.length === 1, exceptions };
  }

  it('is retried until the receive budget runs out, then recorded as the exception it carries', async () => {
    const error = new RetryableError('the carrier list could not be read', { exceptionType: 'carrier.unknown' });
    expect(await deliverFailing(error, DEFAULT_MAX_RECEIVE_COUNT - 1)).toEqual({ failed: true, exceptions: [] });
    const last = await deliverFailing(error, DEFAULT_MAX_RECEIVE_COUNT);
    expect(last.failed).toBe(true);
    expect(last.exceptions).toEqual([
      expect.objectContaining({
        type: 'carrier.unknown',
        reason: `gave up after ${DEFAULT_MAX_RECEIVE_COUNT} receives: the carrier list could not be read`,
        payloadRef: event!.id,
      }),
    ]);
  });

  it('without an exception type is a delivery.failed', async () => {
    const { exceptions } = await deliverFailing(new TypeError('boom'), DEFAULT_MAX_RECEIVE_COUNT);
    expect(exceptions).toEqual([expect.objectContaining({ type: 'delivery.failed', reason: `gave up after ${DEFAULT_MAX_RECEIVE_COUNT} receives: unexpected TypeError` })]);
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
