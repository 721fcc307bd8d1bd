import type { PutEventsCommand, PutEventsResponse } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { createEventBridgePublisher, PublishError } from '../../functions/shared/aws/eventPublisher';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { orderFacts } from '../../functions/shared/ingest/orderFacts';
import { rawOrder } from '../support/miraklOrders';

const ctx = { marketplace: marketplaceById(sandboxConfig, 'debenhams'), component: 'poller' };
const events = (n: number) => Array.from({ length: n }, (_, i) => orderFacts(rawOrder(`P${i}-A`), undefined, ctx).events[0]!);

/** A PutEvents double: answers from a script of per-call behaviours and records every request. */
function fakeEventBridge(script: ((entries: number) => PutEventsResponse | Error)[]) {
  const calls: { DetailType?: string; Detail?: string; Source?: string; EventBusName?: string }[][] = [];
  return {
    calls,
    client: {
      send: async (command: PutEventsCommand) => {
        const entries = command.input.Entries ?? [];
        calls.push(entries);
        const step = script[calls.length - 1] ?? ((n: number) => ({ FailedEntryCount: 0, Entries: Array.from({ length: n }, (_, i) => ({ EventId: `e${i}` })) }));
        const result = step(entries.length);
        if (result instanceof Error) throw result;
        return result;
      },
    },
  };
}

const noSleep = async () => undefined;

describe('EventBridge publisher', () => {
  it('sends at most 10 entries per PutEvents, on the configured bus, with the event as detail', async () => {
    const eb = fakeEventBridge([]);
    await createEventBridgePublisher({ client: eb.client as never, busName: 'mb-bus', sleep: noSleep }).publish(events(23));
    expect(eb.calls.map((c) => c.length)).toEqual([10, 10, 3]);
    const first = eb.calls[0]?.[0];
    expect(first).toMatchObject({ EventBusName: 'mb-bus', Source: 'marketbridge.mirakl', DetailType: 'Order Confirmed' });
    expect(JSON.parse(first?.Detail ?? '{}')).toMatchObject({ eventId: 'debenhams:P0-A:confirmed', schemaVersion: 1 });
  });

  it('re-sends only the entries that failed', async () => {
    const eb = fakeEventBridge([
      () => ({ FailedEntryCount: 2, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException' }, { EventId: 'c' }, { ErrorCode: 'InternalFailure' }] }),
    ]);
    await createEventBridgePublisher({ client: eb.client as never, busName: 'b', sleep: noSleep }).publish(events(4));
    expect(eb.calls).toHaveLength(2);
    expect(eb.calls[1]?.map((e) => JSON.parse(e.Detail ?? '{}').eventId)).toEqual(['debenhams:P1-A:confirmed', 'debenhams:P3-A:confirmed']);
  });

  it('retries a whole-request failure', async () => {
    const eb = fakeEventBridge([() => Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' })]);
    await createEventBridgePublisher({ client: eb.client as never, busName: 'b', sleep: noSleep }).publish(events(2));
    expect(eb.calls).toHaveLength(2);
  });

  it('rejects naming the events that never made it once the retry budget is spent', async () => {
    const failSecond = () => ({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure' }] });
    const eb = fakeEventBridge([failSecond, () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] }), () => ({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] })]);
    const publisher = createEventBridgePublisher({ client: eb.client as never, busName: 'b', sleep: noSleep, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    const error = await publisher.publish(events(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).failures).toEqual([{ eventId: 'debenhams:P1-A:confirmed', errorCode: 'InternalFailure' }]);
    expect(eb.calls).toHaveLength(3);
  });

  it('refuses an entry over the 1 MB EventBridge limit before calling AWS', async () => {
    const big = rawOrder('BIG-A', {}, 0);
    big.order_lines = Array.from({ length: 4000 }, (_, i) => ({ ...rawOrder('BIG-A').order_lines[0]!, order_line_id: `BIG-A-${i}`, product_title: 'x'.repeat(200) }));
    const [event] = orderFacts(big, undefined, ctx).events;
    const eb = fakeEventBridge([]);
    await expect(createEventBridgePublisher({ client: eb.client as never, busName: 'b' }).publish([event!])).rejects.toThrow('EntryTooLarge');
    expect(eb.calls).toHaveLength(0);
  });
});
