/** Helpers the operations tests share on the local runtime. */
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import type { LocalRuntime } from '../../local/runtime';

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A DynamoDB client on the runtime's embedded store; destroy it after use. */
export function localDynamo(runtime: LocalRuntime): DynamoDBClient {
  return new DynamoDBClient({ endpoint: runtime.aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/**
 * Reconciliation waits for an OR11 call slot like the poller (Mirakl allows one call a minute). Instead of waiting
 * a minute between runs, tests release the slots, as if the minute had passed.
 */
export async function releaseOr11Slots(runtime: LocalRuntime): Promise<void> {
  const dynamo = localDynamo(runtime);
  const table = runtime.aws.dynamo.tableNames.state;
  try {
    const items = await dynamo.send(new ScanCommand({ TableName: table, ProjectionExpression: 'pk' }));
    for (const item of items.Items ?? []) {
      if (item.pk?.S?.startsWith('slot#')) await dynamo.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk } }));
    }
  } finally {
    dynamo.destroy();
  }
}

/** Whether a connector's queue has nothing waiting or in flight. */
export function drained(runtime: LocalRuntime, connector: string): boolean {
  const depth = runtime.connectors.find((c) => c.name === connector)?.queue.depth();
  return depth !== undefined && depth.visible + depth.inFlight === 0;
}
