/** Helpers the operations tests share on the local runtime. */
import { expect, vi } from 'vitest';
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/aws/protocol';
import { type ConfigInput, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { LocalRuntime } from '../../local/runtime';
import type { KlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { type TestRuntime, startTestRuntime } from './localRuntime';

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

/** Waits until a connector's queue is drained (a minute at most). */
export async function untilDrained(runtime: LocalRuntime, connector: string): Promise<void> {
  await vi.waitFor(() => expect(drained(runtime, connector), `${connector} queue drained`).toBe(true), {
    timeout: 60_000,
    interval: 100,
  });
}

/**
 * The local runtime with Klaviyo (and `connectors`) on Debenhams, right after a Klaviyo 5xx burst has sent a
 * poll's records to its DLQ. Fast queues: a record gives up after two receives three seconds apart. The fault is
 * cleared (with the sandbox's records) before this returns.
 */
export async function runtimeAfterKlaviyoOutage(
  name: string,
  connectors: ConfigInput['connectors'] = {},
): Promise<TestRuntime & { klaviyo: KlaviyoSandbox }> {
  const local = await startTestRuntime(name, {
    config: parseConfig({ ...sandboxConfigInput, connectors: { klaviyo: { enabled: true, marketplaces: ['debenhams'] }, ...connectors } }),
    seed: 11,
    // The runtime gives each invocation the visibility timeout as its Lambda timeout. Through the burst the handler
    // retries each call for up to 1.5 s (KLAVIYO_HTTP backoff); with 1 s, middy ended invocations early while their
    // handlers ran on, so more of them overlapped than the connector's concurrency (a full run drew 429s from the
    // sandbox's limits) and some outlived the burst, delivering records already in the DLQ once the fault was cleared.
    queues: { visibilityTimeoutSeconds: 3, maxReceiveCount: 2, pollIntervalMs: 20 },
  });
  const { runtime } = local;
  const klaviyo = runtime.destinations.klaviyo as KlaviyoSandbox;
  try {
    klaviyo.inject({ kind: 'status', status: 503, times: 100_000 });
    await runtime.runPoll('debenhams');
    const dlq = runtime.connectors.find((c) => c.name === 'klaviyo')!.dlq;
    await until(() => runtime.connectors.every((c) => drained(runtime, c.name)) && dlq.depth().visible > 0);
    klaviyo.reset();
  } catch (error) {
    await local.stop();
    throw error;
  }
  return { ...local, klaviyo };
}
