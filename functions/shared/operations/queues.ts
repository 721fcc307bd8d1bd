/**
 * Connector queues as operators see them: depths of each queue and its DLQ, and DLQ redrive through SQS
 * StartMessageMoveTask / ListMessageMoveTasks (what the AWS console's "Start DLQ redrive" uses too). Redriven
 * messages get new message ids; the connectors' idempotency is keyed by event id, so a redrive — even twice —
 * never repeats a downstream effect.
 */
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';

/** The CloudFormation stack a deployment is unless named otherwise (`cdk deploy -c stack=NAME`); the local runtime's too. */
export const DEFAULT_STACK_NAME = 'MarketBridge';
/** Names the deployment's stack to the functions that look its queues up by name (the weekly report). */
export const STACK_NAME_ENV = 'MARKETBRIDGE_STACK';
/** SQS refuses longer queue names. */
const MAX_QUEUE_NAME_LENGTH = 80;

/**
 * A connector's queue names, derived from the deployment's stack name so several deployments share an account and
 * region, and so `redrive --stack NAME --connector NAME` finds them, deployed and local alike. Lower-cased so the
 * default stack keeps the names it always had (`marketbridge-<connector>`): renaming a queue replaces it, and its
 * messages with it.
 */
export function connectorQueueNames(stack: string, connector: string): { queue: string; dlq: string } {
  const queue = `${stack.toLowerCase()}-${connector}`;
  const dlq = `${queue}-dlq`;
  if (dlq.length > MAX_QUEUE_NAME_LENGTH) {
    throw new Error(`stack name "${stack}" is too long: the ${connector} DLQ name "${dlq}" exceeds SQS's ${MAX_QUEUE_NAME_LENGTH} characters`);
  }
  return { queue, dlq };
}

export interface QueueDepth {
  name: string;
  visible: number;
  inFlight: number;
}

export interface RedriveTask {
  status: string;
  moved: number;
  toMove: number;
  startedAt: string;
  failureReason?: string;
}

export interface ConnectorQueues {
  connector: string;
  queue: QueueDepth;
  dlq: QueueDepth & { arn: string };
  /** The most recent redrive of the DLQ, if any. */
  lastRedrive?: RedriveTask;
}

/** No queue by that name here: usually another stack's name, region or account, or a connector not deployed. */
export class UnknownQueueError extends Error {
  constructor(readonly queueName: string) {
    super(`queue "${queueName}" does not exist in this account and region`);
  }
}

async function attributes(sqs: SQSClient, name: string): Promise<Record<string, string>> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name })).catch((error: Error) => {
    throw error.name === 'QueueDoesNotExist' ? new UnknownQueueError(name) : error;
  });
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Attributes ?? {};
}

function depth(name: string, attrs: Record<string, string>): QueueDepth {
  return {
    name,
    visible: Number(attrs.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** The DLQ's most recent redrives, newest first (SQS keeps the last ones per queue; at most 10). */
export async function redriveTasks(sqs: SQSClient, dlqArn: string, max = 1): Promise<RedriveTask[]> {
  const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: max }));
  return (Results ?? []).map((task) => ({
    status: task.Status ?? 'UNKNOWN',
    moved: task.ApproximateNumberOfMessagesMoved ?? 0,
    toMove: task.ApproximateNumberOfMessagesToMove ?? 0,
    startedAt: new Date(task.StartedTimestamp ?? 0).toISOString(),
    ...(task.FailureReason ? { failureReason: task.FailureReason } : {}),
  }));
}

export async function dlqArn(sqs: SQSClient, stack: string, connector: string): Promise<string> {
  return (await attributes(sqs, connectorQueueNames(stack, connector).dlq)).QueueArn ?? '';
}

export async function connectorQueues(sqs: SQSClient, stack: string, connector: string): Promise<ConnectorQueues> {
  const names = connectorQueueNames(stack, connector);
  const [queue, dlq] = await Promise.all([attributes(sqs, names.queue), attributes(sqs, names.dlq)]);
  const arn = dlq.QueueArn ?? '';
  const [redrive] = await redriveTasks(sqs, arn);
  return {
    connector,
    queue: depth(names.queue, queue),
    dlq: { ...depth(names.dlq, dlq), arn },
    ...(redrive ? { lastRedrive: redrive } : {}),
  };
}

/** Moves the connector's DLQ back to its queue; `maxPerSecond` paces it for a destination's rate limit. */
export async function startRedrive(
  sqs: SQSClient,
  stack: string,
  connector: string,
  maxPerSecond?: number,
): Promise<{ taskHandle: string; dlqArn: string; toMove: number }> {
  const names = connectorQueueNames(stack, connector);
  const dlq = await attributes(sqs, names.dlq);
  const arn = dlq.QueueArn ?? '';
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: arn,
      ...(maxPerSecond !== undefined ? { MaxNumberOfMessagesPerSecond: maxPerSecond } : {}),
    }),
  );
  return { taskHandle: TaskHandle ?? '', dlqArn: arn, toMove: Number(dlq.ApproximateNumberOfMessages ?? 0) };
}
