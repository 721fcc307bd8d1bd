/**
 * The local runtime (`npm start` wiring) as the integration tests run it: its event log in a throwaway directory,
 * every server on a random port, no schedules and no sandbox ticks (the tests drive polls themselves), and its
 * exception inbox to read. `stop()` undoes all of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../local/runtime';

export interface TestRuntime {
  runtime: LocalRuntime;
  /** Where the event log goes; removed by `stop()`. */
  dataDir: string;
  /** Every item of the exception inbox. */
  exceptions(): Promise<Record<string, unknown>[]>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Dotdigital (a confirmed-order programme) and SFMC (a confirmed-order journey), as the runtime tests enable them. */
export const MARKETING_CONNECTORS_INPUT = {
  dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 1, programmes: { confirmed: 7001 } },
  sfmc: {
    enabled: true,
    secretName: 'marketbridge/sfmc',
    subdomain: 'mc-local',
    journeys: { confirmed: { eventDefinitionKey: 'APIEvent-marketbridge-order-confirmed' } },
  },
};

/** `name` tells the temporary directory apart; the seed is required so each test's sandbox history is fixed. */
export async function startTestRuntime(
  name: string,
  options: Omit<LocalRuntimeOptions, 'dataDir' | 'randomPorts' | 'seed'> & { seed: number },
): Promise<TestRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), `marketbridge-${name}-`));
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({ schedule: false, tickIntervalMs: 0, ...options, dataDir, randomPorts: true });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const client = new DynamoDBClient({ endpoint: runtime.aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const documents = DynamoDBDocumentClient.from(client);
  let stopping: Promise<void> | undefined;
  return {
    runtime,
    dataDir,
    async exceptions() {
      return (await documents.send(new ScanCommand({ TableName: runtime.aws.dynamo.tableNames.exceptions }))).Items ?? [];
    },
    stop: () =>
      (stopping ??= (async () => {
        client.destroy();
        await runtime.stop();
        rmSync(dataDir, { recursive: true, force: true });
      })()),
  };
}
