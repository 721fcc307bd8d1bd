/**
 * AWS on loopback: the embedded DynamoDB plus one JSON-protocol endpoint for EventBridge, Secrets Manager and SQS,
 * and the environment that points the handlers' unmodified SDK clients at them.
 */
import { CONFIG_ENV, EVENT_BUS_ENV, TABLES } from '../../functions/shared/aws/tables';
import type { LocalBus } from '../bus';
import type { QueueRegistry } from '../queue';
import { startLocalDynamo, type LocalDynamo } from './dynamo';
import { eventBridgeOperations, PutEventsFaults } from './eventbridge';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startAwsJsonServer } from './protocol';
import { LocalSecrets } from './secrets';
import { sqsOperations } from './sqs';

export { LocalSecrets } from './secrets';
export { PutEventsFaults } from './eventbridge';

export interface LocalAws {
  dynamo: LocalDynamo;
  /** Endpoint of the EventBridge / Secrets Manager / SQS emulator. */
  endpoint: string;
  secrets: LocalSecrets;
  putEventsFaults: PutEventsFaults;
  /** The variables the handlers need, to be set before they are imported (SDK clients read them at creation). */
  env(config: unknown): Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalAws(options: { bus: LocalBus; queues: QueueRegistry }): Promise<LocalAws> {
  const secrets = new LocalSecrets();
  const putEventsFaults = new PutEventsFaults();
  const dynamo = await startLocalDynamo();
  let server: Awaited<ReturnType<typeof startAwsJsonServer>>;
  try {
    server = await startAwsJsonServer({
      ...eventBridgeOperations(options.bus, putEventsFaults),
      ...secrets.operations(),
      ...sqsOperations(options.queues, () => server.endpoint),
    });
  } catch (error) {
    await dynamo.close();
    throw error;
  }
  const endpoint = server.endpoint;
  return {
    dynamo,
    endpoint,
    secrets,
    putEventsFaults,
    env: (config) => ({
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      // A stale session token from the developer's shell would be signed into every request.
      AWS_SESSION_TOKEN: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      ...Object.fromEntries(
        (Object.keys(TABLES) as (keyof typeof TABLES)[]).map((key) => [TABLES[key].envVar, dynamo.tableNames[key]]),
      ),
      [EVENT_BUS_ENV]: options.bus.name,
      [CONFIG_ENV]: JSON.stringify(config),
    }),
    close: async () => {
      await Promise.allSettled([server.close(), dynamo.close()]);
    },
  };
}
