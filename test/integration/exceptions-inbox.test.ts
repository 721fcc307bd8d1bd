/**
 * The exception inbox on the embedded DynamoDB (the table and indexes the stack creates): one entry per record
 * with counts and first/last seen, filters on the status and marketplace indexes, resolve with a note, a repeat
 * reopening a resolved entry, retry through the normal path (re-publish the stored events, or re-read an order
 * Mirakl gave us unusable), and the `exceptions` CLI over it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exceptions as exceptionsCli } from '../../cli/exceptions';
import type { Output } from '../../cli/io';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { businessEvent } from '../../functions/shared/events';
import { sandboxConfig } from '../../functions/shared/config';
import { CollectingPublisher, MemoryState } from '../../functions/shared/ingest/memory';
import { orderFacts } from '../../functions/shared/ingest/orderFacts';
import { DynamoExceptionInbox, NotFoundError, NotRetryableError, retryException } from '../../functions/shared/operations/inbox';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { rawOrder } from '../support/miraklOrders';

let dynamo: LocalDynamo;
let client: DynamoDBDocumentClient;
let clock = new Date('2026-11-21T10:00:00Z');
const now = () => clock;
let recorder: DynamoExceptionRecorder;
let inbox: DynamoExceptionInbox;

const confirmed = orderFacts(rawOrder('DB-9-A'), undefined, { marketplace: sandboxConfig.marketplaces[0]!, component: 'test' }).events.find(
  (e) => e.detailType === 'Order Confirmed',
)!;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ tablePrefix: 'inbox-' });
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  recorder = new DynamoExceptionRecorder(client, dynamo.tableNames.exceptions, now);
  inbox = new DynamoExceptionInbox(client, dynamo.tableNames.exceptions, now);

  await recorder.record({ type: 'delivery.failed', marketplace: 'debenhams', ref: 'DB-9-A', reason: 'HTTP 503', component: 'klaviyo', payloadRef: confirmed.id, events: [confirmed] });
  clock = new Date('2026-11-21T10:05:00Z');
  await recorder.record({ type: 'sku.unmapped', marketplace: 'decathlon', ref: 'DC-1-A', reason: 'SKU DC-SKU-1 has no SFCC product', component: 'mirakl-acceptance' });
  clock = new Date('2026-11-21T10:10:00Z');
  await recorder.record({ type: 'order.malformed', marketplace: 'debenhams', ref: 'DB-7-A', reason: 'order_lines: required', component: 'poller' });
  clock = new Date('2026-11-21T10:15:00Z');
  await recorder.record({ type: 'event.invalid', marketplace: 'unknown', ref: 'm-1', reason: 'not JSON', component: 'klaviyo', payloadRef: 'sqs:m-1' });
}, 30_000);

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

function capture(): Output & { lines: unknown[]; errors: string[]; texts: string[] } {
  const lines: unknown[] = [];
  const errors: string[] = [];
  const texts: string[] = [];
  return { lines, errors, texts, line: (v) => lines.push(v), error: (m) => errors.push(m), text: (m) => texts.push(m) };
}

describe('exception inbox', () => {
  it('lists open entries newest first, with owner and severity from the table of types, never the stored payload', async () => {
    const open = await inbox.list();
    expect(open.map((e) => e.ref)).toEqual(['m-1', 'DB-7-A', 'DC-1-A', 'DB-9-A']);
    expect(open.find((e) => e.ref === 'DC-1-A')).toMatchObject({ owner: 'ecommerce', severity: 'high', status: 'open', retry: 'none' });
    expect(open.find((e) => e.ref === 'DB-9-A')).toMatchObject({ owner: 'operations', retry: 'republish', occurrences: 1 });
    expect(open.find((e) => e.ref === 'DB-7-A')?.retry).toBe('reread');
    for (const entry of open) expect(entry).not.toHaveProperty('payload');
  });

  it('filters by type, marketplace and owner', async () => {
    expect((await inbox.list({ type: 'sku.unmapped' })).map((e) => e.ref)).toEqual(['DC-1-A']);
    expect((await inbox.list({ marketplace: 'debenhams' })).map((e) => e.ref)).toEqual(['DB-7-A', 'DB-9-A']);
    expect((await inbox.list({ owner: 'ecommerce' })).map((e) => e.ref)).toEqual(['DC-1-A']);
    expect(await inbox.list({ status: 'resolved' })).toEqual([]);
    expect(await inbox.countOpen()).toBe(4);
  });

  it('retries by re-publishing the stored event, marks the entry retried, and a repeat failure reopens it with its count', async () => {
    const [entry] = await inbox.list({ type: 'delivery.failed' });
    const publisher = new CollectingPublisher();
    const outcome = await retryException({ inbox, publisher, pending: new MemoryState() }, entry!.id);
    expect(publisher.published).toEqual([confirmed]);
    expect(outcome).toMatchObject({ republished: [confirmed.id], entry: { status: 'resolved', resolution: { how: 'retried' } } });

    clock = new Date('2026-11-21T11:00:00Z');
    await recorder.record({ type: 'delivery.failed', marketplace: 'debenhams', ref: 'DB-9-A', reason: 'HTTP 503 again', component: 'klaviyo', payloadRef: confirmed.id, events: [confirmed] });
    expect(await inbox.get(entry!.id)).toMatchObject({ status: 'open', occurrences: 2, firstSeen: '2026-11-21T10:00:00.000Z', lastSeen: '2026-11-21T11:00:00.000Z', reason: 'HTTP 503 again' });
  });

  it('retries an order Mirakl gave us unusable by queueing it for the next poll’s re-read', async () => {
    const [entry] = await inbox.list({ type: 'order.malformed' });
    const pending = new MemoryState();
    const outcome = await retryException({ inbox, publisher: new CollectingPublisher(), pending }, entry!.id);
    expect(outcome.reread).toBe('DB-7-A');
    expect(await pending.list('debenhams')).toEqual(['DB-7-A']);
  });

  it('says what to do when there is nothing to retry, and when the id is unknown', async () => {
    const deps = { inbox, publisher: new CollectingPublisher(), pending: new MemoryState() };
    const [invalid] = await inbox.list({ type: 'event.invalid' });
    await expect(retryException(deps, invalid!.id)).rejects.toThrow(NotRetryableError);
    await expect(retryException(deps, invalid!.id)).rejects.toThrow(/not a valid event/);
    const [unmapped] = await inbox.list({ type: 'sku.unmapped' });
    await expect(retryException(deps, unmapped!.id)).rejects.toThrow(/redrive the mirakl-acceptance DLQ/);
    await expect(retryException(deps, 'nope')).rejects.toThrow(NotFoundError);
    await expect(inbox.resolve('nope', 'x')).rejects.toThrow(NotFoundError);
  });

  it('the CLI lists as a table or JSON lines, resolves with a note, and refuses bad usage', async () => {
    const deps = () => ({ inbox, publisher: new CollectingPublisher(), pending: new MemoryState() });
    const table = capture();
    expect(await exceptionsCli(['list', '--owner', 'ecommerce'], table, undefined, deps)).toBe(0);
    expect(table.texts[0]).toMatch(/^status\s+owner\s+type/);
    expect(table.texts[1]).toMatch(/open\s+ecommerce\s+sku\.unmapped\s+decathlon\s+DC-1-A/);

    const [unmapped] = await inbox.list({ type: 'sku.unmapped' });
    const resolved = capture();
    expect(await exceptionsCli(['resolve', unmapped!.id, '--note', 'mapped DC-SKU-1 to P-77'], resolved, undefined, deps)).toBe(0);
    expect(resolved.lines).toEqual([{ id: unmapped!.id, status: 'resolved', note: 'mapped DC-SKU-1 to P-77' }]);
    const json = capture();
    await exceptionsCli(['list', '--status', 'resolved', '--json'], json, undefined, deps);
    expect((json.lines as { ref: string }[]).map((e) => e.ref)).toContain('DC-1-A');

    await expect(exceptionsCli(['resolve', unmapped!.id], capture(), undefined, deps)).rejects.toThrow(/--note is required/);
    await expect(exceptionsCli(['list', '--status', 'closed'], capture(), undefined, deps)).rejects.toThrow(/--status must be/);
    const missing = capture();
    expect(await exceptionsCli(['retry', 'nope'], missing, undefined, deps)).toBe(1);
    expect(missing.errors[0]).toMatch(/no exception with id "nope"/);
  });

  it('does not retry an entry whose event was erased with the buyer, and says why', async () => {
    await recorder.record({ type: 'delivery.failed', marketplace: 'decathlon', ref: 'DC-9-A', reason: 'HTTP 400', component: 'sfmc', payloadRef: 'x', events: [confirmed] });
    const [entry] = await inbox.list({ marketplace: 'decathlon', type: 'delivery.failed' });
    // What the privacy erasure does to an entry (functions/shared/privacy/ownRecords.ts).
    await client.send(new UpdateCommand({ TableName: dynamo.tableNames.exceptions, Key: { id: entry!.id }, UpdateExpression: 'REMOVE payload SET payloadErasedAt = :at', ExpressionAttributeValues: { ':at': clock.toISOString() } }));
    expect(await inbox.get(entry!.id)).toMatchObject({ retry: 'none', payloadErased: true });
    await expect(retryException({ inbox, publisher: new CollectingPublisher(), pending: new MemoryState() }, entry!.id)).rejects.toThrow(/erased with the buyer's data/);
  });

  it('does not retry an uncertain SFMC journey entry: it says to check the journey and resolve', async () => {
    await recorder.record({ type: 'journey.entry-uncertain', marketplace: 'debenhams', ref: 'JU-1-A', reason: 'no answer', component: 'sfmc', payloadRef: 'debenhams:JU-1-A:confirmed' });
    const [entry] = await inbox.list({ type: 'journey.entry-uncertain' });
    expect(entry).toMatchObject({ owner: 'marketing', retry: 'none' });
    await expect(retryException({ inbox, publisher: new CollectingPublisher(), pending: new MemoryState() }, entry!.id)).rejects.toThrow(/journey entry of order JU-1-A is never sent again/);
  });

  it.each(['enrolment.uncertain', 'enrolment.refused'] as const)('does not retry a %s Dotdigital enrolment: it says to check the programme', async (type) => {
    await recorder.record({ type, marketplace: 'debenhams', ref: 'EN-1-A', reason: 'no answer', component: 'dotdigital-enrolments', payloadRef: 'debenhams:EN-1-A:confirmed' });
    const [entry] = await inbox.list({ type });
    expect(entry).toMatchObject({ owner: 'marketing', retry: 'none' });
    await expect(retryException({ inbox, publisher: new CollectingPublisher(), pending: new MemoryState() }, entry!.id)).rejects.toThrow(/programme enrolment of order EN-1-A is never sent again/);
  });

  it('keeps a payload too large for an item off the entry, and the retry then points at the DLQ', async () => {
    const huge = businessEvent('Order Confirmed', { ...confirmed.detail, eventId: 'debenhams:BIG-1:confirmed', order: { ...confirmed.detail.order, orderId: 'BIG-1', lines: Array.from({ length: 800 }, (_, i) => ({ ...confirmed.detail.order.lines[0]!, lineId: `BIG-1-${i}`, productTitle: 'x'.repeat(400) })) } });
    await recorder.record({ type: 'delivery.failed', marketplace: 'debenhams', ref: 'BIG-1', reason: 'HTTP 500', component: 'klaviyo', payloadRef: huge.id, events: [huge] });
    const [entry] = (await inbox.list({ type: 'delivery.failed' })).filter((e) => e.ref === 'BIG-1');
    expect(entry?.retry).toBe('none');
  });
});
