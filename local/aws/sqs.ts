/**
 * SQS operations over the local queues, for the redrive tooling: StartMessageMoveTask / ListMessageMoveTasks
 * (what the console's "Start DLQ redrive" and `marketbridge redrive` call), plus GetQueueUrl and
 * GetQueueAttributes to find a DLQ's ARN and watch its depth.
 */
import type { QueueRegistry } from '../queue';
import { AwsError, LOCAL_ACCOUNT, requireString, type AwsOperations } from './protocol';

function nonExistent(): AwsError {
  return new AwsError('QueueDoesNotExist', 'The specified queue does not exist.');
}

/** `endpoint()` is the emulator's own URL: the SQS client sends requests to the host of the queue URL. */
export function sqsOperations(queues: QueueRegistry, endpoint: () => string): AwsOperations {
  return {
    'AmazonSQS.StartMessageMoveTask': (input) => ({
      TaskHandle: queues.startMessageMoveTask({
        sourceArn: requireString(input, 'SourceArn'),
        ...(typeof input.DestinationArn === 'string' ? { destinationArn: input.DestinationArn } : {}),
        ...(typeof input.MaxNumberOfMessagesPerSecond === 'number'
          ? { maxNumberOfMessagesPerSecond: input.MaxNumberOfMessagesPerSecond }
          : {}),
      }),
    }),
    'AmazonSQS.ListMessageMoveTasks': (input) => ({
      Results: queues.listMessageMoveTasks(
        requireString(input, 'SourceArn'),
        typeof input.MaxResults === 'number' ? input.MaxResults : 1,
      ),
    }),
    'AmazonSQS.GetQueueUrl': (input) => {
      const queue = queues.find(requireString(input, 'QueueName'));
      if (!queue) throw nonExistent();
      return { QueueUrl: `${endpoint()}/${LOCAL_ACCOUNT}/${queue.name}` };
    },
    'AmazonSQS.GetQueueAttributes': (input) => {
      const queue = queues.find(requireString(input, 'QueueUrl'));
      if (!queue) throw nonExistent();
      const depth = queue.depth();
      const all: Record<string, string> = {
        QueueArn: queue.arn,
        ApproximateNumberOfMessages: String(depth.visible),
        ApproximateNumberOfMessagesNotVisible: String(depth.inFlight),
        ApproximateNumberOfMessagesDelayed: '0',
        VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        ...(queue.deadLetter
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: queue.deadLetter.queue.arn,
                maxReceiveCount: queue.deadLetter.maxReceiveCount,
              }),
            }
          : {}),
      };
      const wanted = Array.isArray(input.AttributeNames) ? input.AttributeNames.map(String) : [];
      const attributes = wanted.includes('All')
        ? all
        : Object.fromEntries(Object.entries(all).filter(([name]) => wanted.includes(name)));
      return { Attributes: attributes };
    },
  };
}
