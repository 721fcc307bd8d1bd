/**
 * Puts business events on the custom bus. PutEvents takes at most 10 entries and can fail some of them while
 * accepting the rest; the SDK does not retry those, so failed entries are re-sent here with backoff, and the call
 * rejects (naming the event ids) only if some still fail — the caller then keeps its cursor where it was.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { BusinessEvent } from '../events';
import { backoffDelayMs, type RetryPolicy } from '../http';
import type { EventPublisher } from '../ingest/ports';

export const PUT_EVENTS_MAX_ENTRIES = 10;
/** EventBridge entry size limit since 2026-01 (was 256 KB). */
export const PUT_EVENTS_MAX_ENTRY_BYTES = 1_048_576;

export class PublishError extends Error {
  constructor(readonly failures: { eventId: string; errorCode: string }[]) {
    super(
      `PutEvents failed for ${failures.length} event(s): ${failures
        .slice(0, 10)
        .map((f) => `${f.eventId} (${f.errorCode})`)
        .join(', ')}`,
    );
    this.name = 'PublishError';
  }
}

export function toPutEventsEntry(event: BusinessEvent, busName: string): PutEventsRequestEntry {
  const entry: PutEventsRequestEntry = {
    EventBusName: busName,
    Source: event.source,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    Time: new Date(event.detail.occurredAt),
  };
  const size = Buffer.byteLength(entry.Detail ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Source ?? '');
  if (size > PUT_EVENTS_MAX_ENTRY_BYTES) {
    throw new PublishError([{ eventId: event.id, errorCode: `EntryTooLarge (${size} bytes)` }]);
  }
  return entry;
}

export interface EventBridgePublisherOptions {
  client: Pick<EventBridgeClient, 'send'>;
  busName: string;
  retry?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export function createEventBridgePublisher(options: EventBridgePublisherOptions): EventPublisher {
  const retry = options.retry ?? { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 5_000 };
  const sleep = options.sleep ?? delay;
  const random = options.random ?? Math.random;

  async function putBatch(events: readonly BusinessEvent[]): Promise<void> {
    let pending = events.map((event) => ({ event, entry: toPutEventsEntry(event, options.busName) }));
    let failures: { eventId: string; errorCode: string }[] = [];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      let response;
      try {
        response = await options.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      } catch (error) {
        // A whole-request failure (throttling, network) is retried like failed entries.
        failures = pending.map((p) => ({ eventId: p.event.id, errorCode: (error as Error).name || 'RequestFailed' }));
        response = undefined;
      }
      if (response) {
        // Entries[] matches the request one for one; an entry without EventId failed.
        const results = response.Entries ?? [];
        const failed = pending.flatMap((p, i) => (results[i]?.EventId ? [] : [{ p, code: results[i]?.ErrorCode }]));
        failures = failed.map(({ p, code }) => ({ eventId: p.event.id, errorCode: code ?? 'NoEventId' }));
        pending = failed.map(({ p }) => p);
      }
      if (pending.length === 0) return;
      if (attempt >= retry.maxAttempts) throw new PublishError(failures);
      await sleep(backoffDelayMs(attempt, retry, random));
    }
  }

  return {
    async publish(events) {
      for (let i = 0; i < events.length; i += PUT_EVENTS_MAX_ENTRIES) {
        await putBatch(events.slice(i, i + PUT_EVENTS_MAX_ENTRIES));
      }
    },
  };
}
