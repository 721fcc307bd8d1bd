/**
 * `marketbridge erase` and our own tables: the exception inbox on the embedded DynamoDB loses the buyer's stored
 * payloads (their entries, order references and counts stay for finance), other buyers are untouched, the erasure
 * event goes on the bus for the destinations, and running it again is harmless.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erase } from '../../cli/erase';
import { main } from '../../cli/main';
import { DynamoExceptionRecorder } from '../../functions/shared/aws/exceptionStore';
import { CollectingPublisher } from '../../functions/shared/ingest/memory';
import { erasureEvent } from '../../functions/shared/privacy/erasure';
import { DynamoOwnRecords } from '../../functions/shared/privacy/ownRecords';
import { ownRecordsConnector } from '../../functions/shared/privacy/ownRecordsConnector';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;
beforeAll(async () => {
  dynamo = await startLocalDynamo({ tablePrefix: 'erase-' });
  documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), {
    marshallOptions: { removeUndefinedValues: true },
  });
});
afterAll(async () => {
  documents.destroy();
  await dynamo.close();
});

function output() {
  const lines: unknown[] = [];
  const errors: string[] = [];
  return { lines, errors, out: { line: (v: unknown) => lines.push(v), error: (m: string) => errors.push(m) } };
}

describe('marketbridge erase', () => {
  it('strips the buyer from the exception inbox, keeps the entries, and puts the erasure on the bus', async () => {
    const exceptions = new DynamoExceptionRecorder(documents, dynamo.tableNames.exceptions);
    const [theirs] = orderLifeEvents('debenhams', 'ER1-A');
    const [someoneElses] = orderLifeEvents('debenhams', 'ER2-A', { customerId: 'C-2002' });
    for (const event of [theirs, someoneElses]) {
      await exceptions.record({
        type: 'delivery.failed',
        marketplace: 'debenhams',
        ref: event === theirs ? 'ER1-A' : 'ER2-A',
        reason: 'HTTP 400',
        component: 'klaviyo',
        payloadRef: event!.id,
        events: [event!],
      });
    }
    const file = join(mkdtempSync(join(tmpdir(), 'erase-')), 'config.json');
    writeFileSync(file, JSON.stringify({ ...klaviyoConfig(), connectors: { klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' } } }));
    const publisher = new CollectingPublisher();
    const now = () => new Date('2026-11-22T10:00:00Z');
    const deps = () => ({ records: new DynamoOwnRecords(documents, dynamo.tableNames.exceptions, now), publisher, now });

    const { lines, out } = output();
    expect(await erase(['--config', file, '--marketplace', 'debenhams', '--customer', 'C-1001'], out, undefined, deps)).toBe(0);
    expect(lines).toEqual([{ kind: 'erasure', eventId: 'debenhams:customer:C-1001:erasure', destinations: ['klaviyo'], exceptionsAnonymised: 1 }]);
    expect(publisher.published.map((e) => [e.detailType, e.detail])).toEqual([
      ['Customer Erasure Requested', expect.objectContaining({ customerId: 'C-1001', identity: 'mirakl:debenhams:C-1001', reason: 'request' })],
    ]);

    const items = (await documents.send(new ScanCommand({ TableName: dynamo.tableNames.exceptions }))).Items ?? [];
    const byRef = Object.fromEntries(items.map((i) => [i.ref, i]));
    expect(byRef['ER1-A']).toMatchObject({ type: 'delivery.failed', occurrences: 1, payloadErasedAt: '2026-11-22T10:00:00.000Z' });
    expect(byRef['ER1-A']?.payload).toBeUndefined();
    expect(JSON.stringify(byRef['ER1-A'])).not.toMatch(/Jane|Doe|Example Road|notification\.mirakl/);
    expect(byRef['ER2-A']?.payload).toContain('C-2002');

    const again = output();
    await erase(['--config', file, '--marketplace', 'debenhams', '--customer', 'C-1001'], again.out, undefined, deps);
    expect(again.lines).toEqual([expect.objectContaining({ exceptionsAnonymised: 0 })]);
  });

  it('the privacy consumer applies an erasure the poller published (a buyer Mirakl anonymised) the same way', async () => {
    const exceptions = new DynamoExceptionRecorder(documents, dynamo.tableNames.exceptions);
    const [event] = orderLifeEvents('decathlon', 'ER3-A', { customerId: 'C-3003' });
    await exceptions.record({ type: 'delivery.failed', marketplace: 'decathlon', ref: 'ER3-A', reason: 'HTTP 400', component: 'sfmc', events: [event!] });
    const consumer = ownRecordsConnector(new DynamoOwnRecords(documents, dynamo.tableNames.exceptions));
    await consumer.deliverOne(erasureEvent('decathlon', 'C-3003', 'mirakl-anonymised', '2026-11-22T10:00:00.000Z'));
    const items = (await documents.send(new ScanCommand({ TableName: dynamo.tableNames.exceptions }))).Items ?? [];
    expect(items.find((i) => i.ref === 'ER3-A')?.payload).toBeUndefined();
    await expect(consumer.deliverOne(event!)).rejects.toThrow(/not an erasure/);
  });

  it('explains missing arguments', async () => {
    const { out, errors } = output();
    expect(await main(['erase', '--marketplace', 'debenhams'], out)).toBe(2);
    expect(errors[0]).toMatch(/--customer are required/);
  });
});
