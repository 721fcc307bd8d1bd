/**
 * `marketbridge redrive [--stack STACK] --connector NAME [--max-per-second N]`: moves the connector's DLQ back to
 * its queue (named after the deployment's stack, connectorQueueNames) with SQS StartMessageMoveTask and follows it with ListMessageMoveTasks until it ends. Safe to repeat: connectors
 * are idempotent on the event id, so a redriven record already delivered is skipped.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CONNECTOR_NAMES } from '../functions/shared/config';
import { DEFAULT_STACK_NAME, redriveTasks, startRedrive, UnknownQueueError } from '../functions/shared/operations/queues';
import { type Output, UsageError } from './io';

export const REDRIVE_USAGE = `usage: marketbridge redrive [--stack STACK] --connector NAME [--max-per-second N] [--no-wait]
  STACK: the deployment's CloudFormation stack (default ${DEFAULT_STACK_NAME})
  NAME: ${CONNECTOR_NAMES.join(', ')}`;

const POLL_MS = 1000;

export async function redrive(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  sqs: () => SQSClient = () => new SQSClient({}),
  sleep: (ms: number) => Promise<unknown> = delay,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { stack: { type: 'string', default: DEFAULT_STACK_NAME }, connector: { type: 'string' }, 'max-per-second': { type: 'string' }, 'no-wait': { type: 'boolean' } },
    allowPositionals: false,
  });
  const connector = values.connector;
  if (!connector || !(CONNECTOR_NAMES as readonly string[]).includes(connector)) throw new UsageError(REDRIVE_USAGE);
  const rate = values['max-per-second'] === undefined ? undefined : Number(values['max-per-second']);
  if (rate !== undefined && !(Number.isInteger(rate) && rate >= 1 && rate <= 500)) {
    throw new UsageError('--max-per-second must be an integer from 1 to 500 (the SQS limit)');
  }
  const client = sqs();
  const started = await startRedrive(client, values.stack, connector, rate).catch((error: Error) => {
    if (!(error instanceof UnknownQueueError)) throw error;
    throw new UsageError(`${error.message}: is ${values.stack} the deployment's stack (--stack), with ${connector} enabled, in this region?`);
  });
  out.line({ stack: values.stack, connector, started: true, dlqArn: started.dlqArn, toMove: started.toMove });
  if (values['no-wait']) return 0;
  for (;;) {
    const [task] = await redriveTasks(client, started.dlqArn);
    if (!task) throw new Error('the redrive task is not listed by ListMessageMoveTasks');
    out.line({ connector, status: task.status, moved: task.moved, toMove: task.toMove, ...(task.failureReason ? { failureReason: task.failureReason } : {}) });
    if (task.status !== 'RUNNING' && task.status !== 'CANCELLING') return task.status === 'COMPLETED' ? 0 : 1;
    await sleep(POLL_MS);
  }
}
