/**
 * A scheduled Lambda's trigger: EventBridge Scheduler invokes the function with `{}` every `every`, through a role
 * of its own, with a dead-letter queue and an event age bounded by the interval (a run older than its interval is
 * superseded by the next one). Constructs `ScheduleDlq`, `SchedulerRole` and `Schedule` in `scope`.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface EveryOptions {
  every: Duration;
  /** The schedule's description. */
  description: string;
  /** What the schedule runs, for its role's and dead-letter queue's descriptions (e.g. "the SFCC shipments read"). */
  runs: string;
}

export function scheduleEvery(scope: Construct, fn: IFunction, options: EveryOptions): { schedule: Schedule; deadLetterQueue: Queue } {
  const deadLetterQueue = new Queue(scope, 'ScheduleDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  Validations.of(deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself the dead-letter queue of ${options.runs}'s schedule; it has nowhere further to send.`,
  });
  const role = new iam.Role(scope, 'SchedulerRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    description: `EventBridge Scheduler: invoke ${options.runs}`,
  });
  const schedule = new Schedule(scope, 'Schedule', {
    description: options.description,
    schedule: ScheduleExpression.rate(options.every),
    target: new LambdaInvoke(fn, {
      role,
      input: ScheduleTargetInput.fromObject({}),
      deadLetterQueue,
      retryAttempts: 3,
      maxEventAge: options.every,
    }),
  });
  const functionId = Stack.of(scope).getLogicalId(fn.node.defaultChild as CfnElement);
  Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
    reason: 'CDK grantInvoke also allows the function\'s own qualified ARNs (versions/aliases, "<arn>:*"); the grant names this one function only.',
  });
  return { schedule, deadLetterQueue };
}
