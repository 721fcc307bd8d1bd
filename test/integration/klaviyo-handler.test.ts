/**
 * The deployable handler `functions/klaviyo.ts` as Lambda runs it (middy, Powertools logger/metrics/tracer), with
 * its configuration, tables and secret found through the environment the stack sets, against AWS on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, TABLES } from '../../functions/shared/aws/tables';
import { type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamo';
import { type AwsJsonServer, LOCAL_CREDENTIALS, LOCAL_REGION, startAwsJsonServer } from '../../local/aws/protocol';
import { LocalSecrets } from '../../local/aws/secrets';
import { lambdaContext } from '../../local/lambda';
import { type KlaviyoSandbox, attachKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { eventBridgeEnvelope, klaviyoConfig, orderLifeEvents, sqsRecord } from '../support/klaviyoFixtures';

let dynamo: LocalDynamo;
let aws: AwsJsonServer;
let sandbox: KlaviyoSandbox;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ tablePrefix: 'handler-' });
  // Wired as the local runtime wires it: a fresh key in Secrets Manager, the connector pointed at the sandbox.
  const secrets = new LocalSecrets();
  const attached = await attachKlaviyoSandbox(klaviyoConfig(), secrets, { port: 0 });
  if (!attached) throw new Error('Klaviyo is enabled in the test configuration');
  sandbox = attached.sandbox;
  aws = await startAwsJsonServer(secrets.operations());
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    [TABLES.idempotency.envVar]: dynamo.tableNames.idempotency,
    [TABLES.exceptions.envVar]: dynamo.tableNames.exceptions,
    [CONFIG_ENV]: JSON.stringify(attached.config),
  });
});

afterAll(async () => {
  await sandbox?.close();
  await aws?.close();
  await dynamo?.close();
});

describe('functions/klaviyo.ts', () => {
  it('delivers a batch, skips the duplicate, and reports a poison record alone', async () => {
    const { handler } = await import('../../functions/klaviyo');
    const [confirmed, shipped] = orderLifeEvents('debenhams', 'HD1-A');
    const body = JSON.stringify(eventBridgeEnvelope(confirmed!));
    const poison = sqsRecord('{"detail-type":"Order Teleported"}');
    const records = [sqsRecord(body), sqsRecord(JSON.stringify(eventBridgeEnvelope(shipped!))), poison];
    const response = await handler({ Records: records }, lambdaContext('klaviyo'));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: poison.messageId }] });
    expect(sandbox.store.events.map((e) => e.metric).sort()).toEqual(['Fulfilled Order', 'Ordered Product', 'Ordered Product', 'Placed Order']);

    const again = await handler({ Records: [sqsRecord(body, 2)] }, lambdaContext('klaviyo'));
    expect(again).toEqual({ batchItemFailures: [] });
    expect(sandbox.store.events).toHaveLength(4);
    expect(sandbox.requests.filter((r) => r.route === 'createEvent')).toHaveLength(4);
  });
});
