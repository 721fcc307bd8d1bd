/**
 * Short exclusive leases, for read-merge-write sequences a destination cannot make conditional itself (a Dotdigital
 * insight record is PUT whole, an SFCC order's adjustments attribute is rewritten whole): two facts of one order
 * processed at the same instant by two Lambdas would otherwise each write what they read, and one update is lost.
 *
 * A lease is a conditional write with an owner token and an expiry: a free or expired lease can be taken, a held one
 * cannot; release is a conditional delete by the owner only, so a holder whose lease expired never frees the one who
 * took it over. The expiry is the longest a holder can live (its Lambda's timeout): a holder still working has never
 * lost its lease, and one that crashed blocks the order no longer than that. Normally a lease lives for the few
 * calls of one read-merge-write and is released at once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { RetryableError } from './failures';

export interface LeaseStore {
  /** Takes `key` for `owner` until `expiresAtMs` if it is free or expired at `nowMs`; false when someone holds it. */
  tryAcquire(key: string, owner: string, nowMs: number, expiresAtMs: number): Promise<boolean>;
  /** Frees `key` if `owner` still holds it; false otherwise (never held, or expired and taken over). */
  release(key: string, owner: string): Promise<boolean>;
}

/** For unit tests and runs that touch no AWS. */
export class InMemoryLeaseStore implements LeaseStore {
  readonly held = new Map<string, { owner: string; expiresAtMs: number }>();

  async tryAcquire(key: string, owner: string, nowMs: number, expiresAtMs: number): Promise<boolean> {
    const current = this.held.get(key);
    if (current && current.expiresAtMs > nowMs) return false;
    this.held.set(key, { owner, expiresAtMs });
    return true;
  }

  async release(key: string, owner: string): Promise<boolean> {
    if (this.held.get(key)?.owner !== owner) return false;
    this.held.delete(key);
    return true;
  }
}

/** A lease still held by another writer after the polls: retryable, the record goes back to its queue. */
export class LeaseHeldError extends RetryableError {
  override readonly name = 'LeaseHeldError';
}

/** The order a lease protects; stored as `lease#<connector>#<marketplace>#<orderId>` in the state table. */
export interface OrderRef {
  marketplace: string;
  orderId: string;
}

export const orderLeaseKey = (connector: string, order: OrderRef) => `${connector}#${order.marketplace}#${order.orderId}`;

export interface LeaseWait {
  /** Attempts after the first one while the lease is held. */
  polls: number;
  pollIntervalMs: number;
}

/**
 * The connector Lambdas' longest life (Dotdigital and SFMC 120 s, the others 90 s; the CDK tests check it): a lease
 * outlives any holder that has not finished.
 */
export const ORDER_LEASE_TTL_MS = 120_000;
/** A single fact waits about a second: the other writer's read-merge-write takes a few calls. */
export const SINGLE_WAIT: LeaseWait = { polls: 5, pollIntervalMs: 250 };

export interface OrderLeaseOptions {
  ttlMs?: number;
  wait?: LeaseWait;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface OrderLease {
  /**
   * Runs `work` holding the leases of these orders: all or none, so two writers of overlapping orders never hold one
   * each while waiting for the other. Work on the same order in this instance runs one after the other first.
   * Throws LeaseHeldError when another writer still holds one after the wait.
   */
  run<T>(orders: readonly OrderRef[], work: () => Promise<T>, wait?: LeaseWait): Promise<T>;
}

export function createOrderLease(connector: string, store: LeaseStore, options: OrderLeaseOptions = {}): OrderLease {
  const ttlMs = options.ttlMs ?? ORDER_LEASE_TTL_MS;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? delay;
  const local = new Map<string, Promise<unknown>>();

  /** Runs after any earlier work on the same keys in this instance (no DynamoDB polling between our own records). */
  function queued<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const before = Promise.all(keys.map((key) => local.get(key)));
    const run = before.then(work);
    const tail = run.catch(() => undefined);
    for (const key of keys) local.set(key, tail);
    void tail.then(() => {
      for (const key of keys) if (local.get(key) === tail) local.delete(key);
    });
    return run;
  }

  async function acquireAll(keys: readonly string[], owner: string): Promise<boolean> {
    const at = now();
    const taken = await Promise.all(keys.map((key) => store.tryAcquire(key, owner, at, at + ttlMs)));
    if (taken.every(Boolean)) return true;
    await Promise.all(keys.filter((_, i) => taken[i]).map((key) => store.release(key, owner)));
    return false;
  }

  return {
    run(orders, work, wait = options.wait ?? SINGLE_WAIT) {
      const keys = [...new Set(orders.map((order) => orderLeaseKey(connector, order)))].sort();
      return queued(keys, async () => {
        const owner = randomUUID();
        for (let attempt = 0; !(await acquireAll(keys, owner)); attempt += 1) {
          if (attempt >= wait.polls) {
            throw new LeaseHeldError(`${connector}: another delivery is writing the same order; the record is retried later`);
          }
          await sleep(wait.pollIntervalMs);
        }
        try {
          return await work();
        } finally {
          // A release that fails only delays the next writer until the expiry; the work's own outcome stands.
          await Promise.allSettled(keys.map((key) => store.release(key, owner)));
        }
      });
    },
  };
}
