/**
 * Wires a history load to AWS: progress, snapshots and Mirakl call slots in the `state` table, the bus, the
 * exception inbox, each marketplace's Mirakl key from Secrets Manager, and the depth of the connector queues the
 * load feeds (BACKFILL_QUEUES, set by the stack) for backpressure. The CLI and the AWS job use the same wiring.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { documentClient, eventBridgeClient } from '../aws/clients';
import { createEventBridgePublisher } from '../aws/eventPublisher';
import { DynamoExceptionRecorder } from '../aws/exceptionStore';
import { DynamoStateStore } from '../aws/stateStore';
import { EVENT_BUS_ENV, requiredEnv, TABLES, tableName } from '../aws/tables';
import { miraklClients } from '../commerce/awsDependencies';
import type { Config, MarketplaceConfig } from '../config';
import { createHttpClient } from '../http';
import { createCallFrequencyGuard } from '../mirakl/callFrequency';
import { logger, tracer } from '../observability';
import { type QueueDepths, backlogGate } from './backlog';
import { DynamoProgressStore } from './dynamoProgress';
import type { BackfillDependencies } from './run';

/** `{ "<connector>": { "url": "<queue URL>", "highWater": <messages> } }`. */
export const BACKFILL_QUEUES_ENV = 'BACKFILL_QUEUES';
const QueuesSchema = z.record(z.string(), z.object({ url: z.string().url(), highWater: z.number().int().positive() }));

function sqsDepths(client: SQSClient, urls: Readonly<Record<string, string>>): QueueDepths {
  return {
    async depths() {
      const entries = await Promise.all(
        Object.entries(urls).map(async ([name, url]) => {
          const { Attributes } = await client.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          );
          return [name, Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}

export function awsBackfillDependencies(
  config: Config,
  marketplace: MarketplaceConfig,
  env: NodeJS.ProcessEnv = process.env,
): BackfillDependencies {
  const documents = documentClient();
  const state = new DynamoStateStore(documents, tableName(TABLES.state, env));
  const guard = createCallFrequencyGuard(state, marketplace.persona);
  const queues = env[BACKFILL_QUEUES_ENV] ? QueuesSchema.parse(JSON.parse(env[BACKFILL_QUEUES_ENV] as string)) : {};
  const backlog =
    Object.keys(queues).length === 0
      ? undefined
      : backlogGate(
          sqsDepths(tracer.captureAWSv3Client(new SQSClient({})), Object.fromEntries(Object.entries(queues).map(([n, q]) => [n, q.url]))),
          Object.fromEntries(Object.entries(queues).map(([n, q]) => [n, q.highWater])),
          { sleep: delay },
        );
  return {
    progress: new DynamoProgressStore(documents, tableName(TABLES.state, env)),
    mirakl: miraklClients(config, createHttpClient()),
    gate: { acquire: (mp, operation) => guard.acquire(mp, operation) },
    ingest: {
      snapshots: state,
      exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions, env)),
      publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: requiredEnv(EVENT_BUS_ENV, env) }),
      log: {
        info: (message, attributes) => logger.info(message, attributes ?? {}),
        warn: (message, attributes) => logger.warn(message, attributes ?? {}),
      },
    },
    ...(backlog ? { backlog } : {}),
    now: () => new Date(),
    sleep: delay,
  };
}
