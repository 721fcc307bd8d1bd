/**
 * Order leases: a held lease refuses another owner, an expired one can be taken over, only its owner releases it;
 * a writer waits a few polls for a held lease and then fails retryably; several orders are taken all or none; work
 * on the same order in one instance queues without polling.
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../../functions/shared/connector/failures';
import { InMemoryLeaseStore, LeaseHeldError, createOrderLease, orderLeaseKey } from '../../functions/shared/connector/lease';

const order = (orderId: string) => ({ marketplace: 'debenhams', orderId });

describe('lease store (in memory)', () => {
  it('refuses a held lease, lets an expired one be taken over, and releases only for its owner', async () => {
    const store = new InMemoryLeaseStore();
    expect(await store.tryAcquire('k', 'a', 1_000, 2_000)).toBe(true);
    expect(await store.tryAcquire('k', 'b', 1_999, 3_000)).toBe(false);
    expect(await store.release('k', 'b')).toBe(false);
    // Expired at 2,000: b takes it over, and a (a holder that outlived its lease) can no longer free it.
    expect(await store.tryAcquire('k', 'b', 2_000, 4_000)).toBe(true);
    expect(await store.release('k', 'a')).toBe(false);
    expect(store.held.get('k')?.owner).toBe('b');
    expect(await store.release('k', 'b')).toBe(true);
    expect(await store.tryAcquire('k', 'c', 2_001, 5_000)).toBe(true);
  });
});

describe('order lease', () => {
  it('keys leases by connector, marketplace and order', () => {
    expect(orderLeaseKey('dotdigital', order('D1-A'))).toBe('dotdigital#debenhams#D1-A');
  });

  it('waits a few polls for a lease another writer holds, then fails retryably; the work never runs', async () => {
    const store = new InMemoryLeaseStore();
    await store.tryAcquire(orderLeaseKey('dotdigital', order('H1-A')), 'other-instance', 0, Number.MAX_SAFE_INTEGER);
    const sleeps: number[] = [];
    const lease = createOrderLease('dotdigital', store, { sleep: async (ms) => void sleeps.push(ms) });
    let ran = false;
    const error = await lease.run([order('H1-A')], async () => void (ran = true)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseHeldError);
    // The inbox and the log say why, not just "unexpected LeaseHeldError".
    expect(classify(error)).toMatchObject({ retryable: true, reason: expect.stringMatching(/another delivery is writing the same order/) });
    expect(ran).toBe(false);
    expect(sleeps).toEqual([250, 250, 250, 250, 250]);
  });

  it('takes over a lease whose holder died (expired), and releases it after the work, also when the work fails', async () => {
    let now = 0;
    const store = new InMemoryLeaseStore();
    await store.tryAcquire(orderLeaseKey('sfcc-orders', order('E1-A')), 'crashed', 0, 120_000);
    const lease = createOrderLease('sfcc-orders', store, { now: () => now, sleep: async (ms) => void (now += ms) });
    now = 120_000;
    await expect(lease.run([order('E1-A')], async () => 'done')).resolves.toBe('done');
    expect(store.held.size).toBe(0);
    await expect(lease.run([order('E1-A')], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(store.held.size).toBe(0);
  });

  it('takes several orders all or none: one held order leaves none of the others held while it waits', async () => {
    const store = new InMemoryLeaseStore();
    await store.tryAcquire(orderLeaseKey('dotdigital', order('B2-A')), 'other', 0, Number.MAX_SAFE_INTEGER);
    const observed: number[] = [];
    const lease = createOrderLease('dotdigital', store, { sleep: async () => void observed.push(store.held.size) });
    await expect(lease.run([order('B1-A'), order('B2-A'), order('B3-A')], async () => undefined, { polls: 2, pollIntervalMs: 1 })).rejects.toThrow(
      LeaseHeldError,
    );
    // Only the other writer's lease stood while this one waited.
    expect(observed).toEqual([1, 1]);
    await store.release(orderLeaseKey('dotdigital', order('B2-A')), 'other');
    await expect(lease.run([order('B1-A'), order('B2-A'), order('B3-A')], async () => store.held.size)).resolves.toBe(3);
  });

  it('queues work on the same order within one instance instead of polling, and runs other orders alongside', async () => {
    const store = new InMemoryLeaseStore();
    const lease = createOrderLease('dotdigital', store, { sleep: async () => Promise.reject(new Error('must not poll')) });
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push(`${name} end`);
    };
    await Promise.all([lease.run([order('Q1-A')], step('a')), lease.run([order('Q1-A')], step('b')), lease.run([order('Q2-A')], step('c'))]);
    expect(log.indexOf('a end')).toBeLessThan(log.indexOf('b start'));
    expect(log.indexOf('c start')).toBeLessThan(log.indexOf('a end'));
  });
});
