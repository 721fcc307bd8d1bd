/**
 * Collects the records of one SQS batch into a single bulk delivery while each record still goes through its own
 * idempotency check. Records run in parallel (BatchProcessor); each either submits its event (it passed the
 * idempotency check) or settles without submitting (already delivered, in progress elsewhere, invalid). Once every
 * record has done one or the other, the submitted events are delivered together and every submitter gets its own
 * outcome.
 */
import type { BusinessEvent } from '../events';
import { classify } from './failures';

export interface BulkDelivery {
  deliverMany(events: BusinessEvent[]): Promise<void>;
  deliverOne(event: BusinessEvent): Promise<void>;
}

interface Pending {
  event: BusinessEvent;
  resolve(): void;
  reject(error: unknown): void;
}

export class BulkWindow {
  private readonly pending = new Map<string, Pending>();
  private readonly settled = new Set<string>();
  private flushed = false;

  /** @param members the SQS message ids expected to submit or settle. */
  constructor(
    private readonly members: ReadonlySet<string>,
    private readonly delivery: BulkDelivery,
  ) {}

  submit(memberId: string, event: BusinessEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(memberId, { event, resolve, reject });
      this.maybeFlush();
    });
  }

  /** Called for every member when its processing ends; a no-op for members that submitted. */
  settle(memberId: string): void {
    if (this.pending.has(memberId)) return;
    this.settled.add(memberId);
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (this.flushed || this.pending.size + this.settled.size < this.members.size) return;
    this.flushed = true;
    void this.flush([...this.pending.values()]);
  }

  private async flush(entries: Pending[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.delivery.deliverMany(entries.map((e) => e.event));
      for (const entry of entries) entry.resolve();
    } catch (error) {
      if (classify(error).retryable || entries.length === 1) {
        for (const entry of entries) entry.reject(error);
        return;
      }
      // A bulk request fails as a whole when one event is rejected: deliver one by one so the bad record alone
      // fails and the rest of the batch goes through.
      await Promise.all(
        entries.map((entry) => this.delivery.deliverOne(entry.event).then(entry.resolve, entry.reject)),
      );
    }
  }
}
