/** The AWS JSON-protocol emulator, exercised through the real SDK clients the handlers use. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDBClient, DescribeTableCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { sandboxConfig } from '../../functions/shared/config';
import { TABLES } from '../../functions/shared/aws/tables';
import { startLocalAws, type LocalAws } from '../../local/aws';
import { LocalBus } from '../../local/bus';
import { QueueRegistry } from '../../local/queue';

let aws: LocalAws;
const bus = new LocalBus({ name: 'test-bus' });
const queues = new QueueRegistry();
const delivered: string[] = [];
bus.addRule({ name: 'all-mirakl', pattern: { source: ['marketbridge.mirakl'] }, deliver: (json) => delivered.push(json) });
const dlq = queues.create({ name: 'marketbridge-klaviyo-dlq' });
const source = queues.create({ name: 'marketbridge-klaviyo', deadLetter: { queue: dlq, maxReceiveCount: 1 } });

beforeAll(async () => {
  aws = await startLocalAws({ bus, queues });
  // The handlers find the emulators through the environment only; the clients below are built the same way.
  Object.assign(process.env, aws.env(sandboxConfig));
});
afterAll(async () => {
  await aws.close();
});

const entry = (detail: object) => ({
  EventBusName: 'test-bus',
  Source: 'marketbridge.mirakl',
  DetailType: 'Order Confirmed',
  Detail: JSON.stringify(detail),
});

describe('EventBridge PutEvents', () => {
  it('publishes entries onto the bus as rule-delivered events', async () => {
    const client = new EventBridgeClient({});
    const time = new Date('2026-11-20T10:00:00Z');
    const result = await client.send(
      new PutEventsCommand({ Entries: [{ ...entry({ marketplace: 'debenhams', eventId: 'e1' }), Time: time, Resources: ['r'] }] }),
    );
    expect(result.FailedEntryCount).toBe(0);
    const eventId = result.Entries?.[0]?.EventId;
    const logged = bus.events().find((e) => e.event.id === eventId);
    expect(logged?.event).toEqual({
      version: '0',
      id: eventId,
      'detail-type': 'Order Confirmed',
      source: 'marketbridge.mirakl',
      account: '000000000000',
      time: '2026-11-20T10:00:00Z',
      region: 'eu-west-1',
      resources: ['r'],
      detail: { marketplace: 'debenhams', eventId: 'e1' },
    });
    expect(logged?.routedTo).toEqual(['all-mirakl']);
    expect(JSON.parse(delivered.at(-1) ?? '{}')).toEqual(logged?.event);
  });

  it('rejects more than 10 entries and oversized entries as a whole request', async () => {
    const client = new EventBridgeClient({});
    const eleven = Array.from({ length: 11 }, (_, i) => entry({ i }));
    await expect(client.send(new PutEventsCommand({ Entries: eleven }))).rejects.toMatchObject({ name: 'ValidationException' });
    const huge = entry({ blob: 'x'.repeat(1_048_576) });
    await expect(client.send(new PutEventsCommand({ Entries: [huge] }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('fails bad entries one by one and lets the rest through', async () => {
    const client = new EventBridgeClient({});
    const before = bus.totalEvents();
    const result = await client.send(
      new PutEventsCommand({
        Entries: [entry({ ok: 1 }), { ...entry({}), Detail: '[1]' }, { ...entry({}), EventBusName: 'other' }, entry({ ok: 2 })],
      }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'ResourceNotFoundException', 'ok']);
    expect(bus.totalEvents()).toBe(before + 2);
  });

  it('injects entry failures so publishers must resend only the failed entries', async () => {
    const client = new EventBridgeClient({});
    aws.putEventsFaults.failNext(2, 'ThrottlingException');
    const first = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 }), entry({ n: 2 }), entry({ n: 3 })] }));
    expect(first.FailedEntryCount).toBe(2);
    expect(first.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
    const retry = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 }), entry({ n: 2 })] }));
    expect(retry.FailedEntryCount).toBe(0);
    expect(aws.putEventsFaults.injected).toBe(2);
  });
});

describe('Secrets Manager GetSecretValue', () => {
  it('returns a stored secret by name or ARN and ResourceNotFoundException otherwise', async () => {
    const arn = aws.secrets.put('marketbridge/webhook', 'shh');
    const client = new SecretsManagerClient({});
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'marketbridge/webhook' }));
    expect(byName).toMatchObject({ Name: 'marketbridge/webhook', ARN: arn, SecretString: 'shh', VersionStages: ['AWSCURRENT'] });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(byArn.SecretString).toBe('shh');
    await expect(client.send(new GetSecretValueCommand({ SecretId: 'marketbridge/none' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('SQS redrive operations', () => {
  it('moves dead letters back to their source with StartMessageMoveTask and reports with ListMessageMoveTasks', async () => {
    const client = new SQSClient({});
    const originalId = source.send('{"n":1}');
    const [received] = source.receive();
    source.changeVisibility(received!.receiptHandle, 0);
    expect(source.receive()).toEqual([]); // past maxReceiveCount: moved to the DLQ

    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'marketbridge-klaviyo-dlq' }));
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }),
    );
    expect(Attributes).toEqual({ QueueArn: dlq.arn, ApproximateNumberOfMessages: '1' });

    const { TaskHandle } = await client.send(new StartMessageMoveTaskCommand({ SourceArn: Attributes?.QueueArn }));
    expect(TaskHandle).toBeTruthy();
    await vi.waitFor(async () => {
      const { Results } = await client.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
      expect(Results?.[0]).toMatchObject({ TaskHandle, Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1 });
    });
    const [redriven] = source.receive();
    expect(redriven?.body).toBe('{"n":1}');
    expect(redriven?.messageId).not.toBe(originalId);

    await expect(client.send(new StartMessageMoveTaskCommand({ SourceArn: source.arn }))).rejects.toMatchObject({
      name: 'UnsupportedOperation',
    });
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
  });
});

describe('embedded DynamoDB', () => {
  it('has every table with its keys and indexes, and honours conditional writes', async () => {
    const client = new DynamoDBClient({});
    const exceptions = await client.send(new DescribeTableCommand({ TableName: process.env[TABLES.exceptions.envVar] }));
    expect(exceptions.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual([
      'byMarketplace',
      'byStatus',
    ]);
    const TableName = process.env[TABLES.mappings.envVar];
    const put = (value: string) =>
      client.send(
        new PutItemCommand({
          TableName,
          Item: { pk: { S: 'sku#debenhams' }, sk: { S: 'OFFER-1' }, product: { S: value } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await put('P1');
    await expect(put('P2')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    const { Items } = await client.send(
      new QueryCommand({
        TableName: process.env[TABLES.exceptions.envVar],
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :open',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':open': { S: 'open' } },
      }),
    );
    expect(Items).toEqual([]);
  });
});
