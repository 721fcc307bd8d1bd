/**
 * The deployable `functions/backfill.ts` as the state machine drives it, against AWS on loopback (DynamoDB state
 * table for progress, snapshots and call slots; EventBridge; Secrets Manager; SQS queue depth) and the Mirakl
 * sandbox: a slice that finds the export pending returns `waiting`, the next one loads everything and ends `done`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKFILL_QUEUES_ENV } from '../../functions/shared/backfill/awsDependencies';
import { type Config, sandboxConfig } from '../../functions/shared/config';
import { type LocalAws, startLocalAws } from '../../local/aws';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { LocalBus } from '../../local/bus';
import { lambdaContext } from '../../local/lambda';
import { QueueRegistry } from '../../local/queue';
import type { MiraklSandbox } from '../../local/sandboxes/mirakl';
import { pastOrdersSandbox } from '../support/backfillFixtures';

const KEY = 'backfill-handler-key';
let aws: LocalAws;
let sandbox: MiraklSandbox;
const bus = new LocalBus({ name: 'backfill-bus' });
const queues = new QueueRegistry();

beforeAll(async () => {
  sandbox = await pastOrdersSandbox({ apiKey: KEY, count: 120, first: '2026-06-01T00:00:00Z', everyMs: 3_600_000 });
  aws = await startLocalAws({ bus, queues });
  const queue = queues.create({ name: 'marketbridge-klaviyo' });
  bus.addRule({ name: 'klaviyo', pattern: { source: ['marketbridge.mirakl'], 'detail-type': ['Order Confirmed'] }, deliver: (json) => queue.send(json) });
  const config: Config = {
    ...sandboxConfig,
    marketplaces: sandboxConfig.marketplaces.map((mp) => (mp.id === 'debenhams' ? { ...mp, baseUrl: `${sandbox.url}/debenhams` } : mp)),
  };
  aws.secrets.put(config.marketplaces.find((mp) => mp.id === 'debenhams')!.apiKeySecret, KEY);
  Object.assign(process.env, aws.env(config), {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    [BACKFILL_QUEUES_ENV]: JSON.stringify({ klaviyo: { url: `${aws.endpoint}/${LOCAL_ACCOUNT}/marketbridge-klaviyo`, highWater: 10_000 } }),
  });
});
afterAll(async () => {
  await aws?.close();
  await sandbox?.close();
  queues.stop();
});

describe('functions/backfill.ts', () => {
  it('waits out the pending export in the state machine, then loads the window as history and saves its progress', async () => {
    const { handler } = await import('../../functions/backfill');
    const input = { marketplace: 'debenhams', from: '2026-06-01T00:00:00Z', to: '2026-07-01T00:00:00Z' };
    const first = await handler(input, lambdaContext('backfill', 900_000));
    // Mirakl recommends polling OR14 every 10 s: the state machine's Wait.
    expect(first).toMatchObject({ status: 'waiting', waitSeconds: 10, ordersDone: 0 });
    // The test waits only OR14's 2-second minimum, which the call-slot guard (real clock here) enforces.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const second = await handler(input, lambdaContext('backfill', 900_000));
    expect(second).toMatchObject({ status: 'done', ordersDone: 120 });

    const confirmed = bus.events().filter((e) => e.event['detail-type'] === 'Order Confirmed');
    expect(confirmed).toHaveLength(120);
    expect(confirmed.every((e) => (e.event.detail as { backfill?: boolean }).backfill === true)).toBe(true);
    expect(queues.find(`${aws.endpoint}/${LOCAL_ACCOUNT}/marketbridge-klaviyo`)?.depth().visible).toBe(120);

    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
    const items = (await documents.send(new ScanCommand({ TableName: aws.dynamo.tableNames.state }))).Items ?? [];
    const progress = items.find((i) => String(i.pk).startsWith('backfill#'));
    expect(progress?.progress).toMatchObject({ status: 'done', source: 'OR13', ordersDone: 120 });
    expect(items.filter((i) => String(i.pk).startsWith('order#debenhams#'))).toHaveLength(120);
    expect(sandbox.requests.filter((r) => r.operation === 'OR13')).toHaveLength(1);
    documents.destroy();
  });
});
