/**
 * The Mirakl poller: one function for every marketplace, invoked by EventBridge Scheduler with
 * `{ marketplace, mode: 'poll' }` at the marketplace's configured interval and `{ marketplace, mode: 'sweep' }`
 * once a day. Schedules that cannot invoke the function after their retries land in a dead-letter queue.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Config, type MarketplaceConfig, OR11_MIN_INTERVAL_MINUTES } from '../../functions/shared/config';
import { TABLES } from '../../functions/shared/aws/tables';
import { MarketBridgeFunction } from './function';
import type { TableKey } from './tables';

export type PollerMode = 'poll' | 'sweep';

/** The sweep runs at a quiet hour (UTC); its window spans several days, so the exact time does not matter. */
const SWEEP_CRON = { hour: '3', minute: '15' } as const;

export interface MiraklPollerProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<Record<TableKey, ITable>>;
  /** Each marketplace's Mirakl API key secret, by marketplace id. */
  readonly marketplaceSecrets: Readonly<Record<string, ISecret>>;
}

/**
 * Mirakl publishes a maximum OR11 frequency per persona. The configuration schema already refuses faster
 * intervals; this repeats the check where the schedule is made, so no other path to a Config can slip past it.
 */
export function assertPollIntervalWithinContract(marketplace: MarketplaceConfig): void {
  const minimum = OR11_MIN_INTERVAL_MINUTES[marketplace.persona];
  const interval = marketplace.poll.intervalMinutes;
  if (!Number.isInteger(interval) || interval < minimum) {
    throw new Error(
      `marketplace "${marketplace.id}": poll.intervalMinutes is ${interval}, but Mirakl allows OR11 at most every ` +
        `${minimum} minute(s) for persona "${marketplace.persona}"; use a whole number of minutes >= ${minimum}`,
    );
  }
}

export class MiraklPoller extends Construct {
  readonly function: MarketBridgeFunction;
  readonly deadLetterQueue: Queue;
  /** Poll and sweep schedules, by marketplace id. */
  readonly schedules: Readonly<Record<string, Readonly<Record<PollerMode, Schedule>>>>;

  constructor(scope: Construct, id: string, props: MiraklPollerProps) {
    super(scope, id);
    props.config.marketplaces.forEach(assertPollIntervalWithinContract);

    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/poller.ts',
      serviceName: 'poller',
      description: 'Polls Mirakl OR11 per marketplace and publishes changed business facts to the bus',
      config: props.config,
      // A sweep pages through several days of orders.
      timeout: Duration.minutes(15),
      // The next scheduled run is the retry: the cursor only advances after a successful run, and a Lambda
      // retry would just overlap it.
      retryAttempts: 0,
    });
    this.function.grantTable(TABLES.state, props.tables.state, [
      'GetItem',
      'PutItem',
      'UpdateItem',
      'BatchGetItem',
      'Query',
    ]);
    this.function.grantTable(TABLES.exceptions, props.tables.exceptions, ['UpdateItem', 'PutItem']);
    this.function.grantPublish(props.bus);
    for (const marketplace of props.config.marketplaces) {
      const secret = props.marketplaceSecrets[marketplace.id];
      if (!secret) throw new Error(`no API key secret for marketplace "${marketplace.id}"`);
      this.function.grantSecretValue(secret);
    }

    this.deadLetterQueue = new Queue(this, 'ScheduleDlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the poller schedules; it has nowhere further to send.',
    });

    // One role for every schedule, so the acknowledgement below is scoped to it alone.
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the Mirakl poller',
    });
    const schedules: Record<string, Record<PollerMode, Schedule>> = {};
    for (const marketplace of props.config.marketplaces) {
      const target = (mode: PollerMode, maxEventAge: Duration) =>
        new LambdaInvoke(this.function, {
          role: schedulerRole,
          input: ScheduleTargetInput.fromObject({ marketplace: marketplace.id, mode }),
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge,
        });
      const interval = Duration.minutes(marketplace.poll.intervalMinutes);
      schedules[marketplace.id] = {
        poll: new Schedule(this, `Poll-${marketplace.id}`, {
          description: `Poll Mirakl OR11 for ${marketplace.name} every ${marketplace.poll.intervalMinutes} minute(s)`,
          schedule: ScheduleExpression.rate(interval),
          // A poll older than one interval is superseded by the next one.
          target: target('poll', interval),
        }),
        sweep: new Schedule(this, `Sweep-${marketplace.id}`, {
          description: `Daily sweep of the last ${marketplace.poll.sweepDays} day(s) of ${marketplace.name} orders`,
          schedule: ScheduleExpression.cron(SWEEP_CRON),
          target: target('sweep', Duration.hours(1)),
        }),
      };
    }
    this.schedules = schedules;
    const functionLogicalId = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement);
    Validations.of(schedulerRole.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
      reason:
        'CDK grantInvoke also allows the poller function\'s own qualified ARNs (versions/aliases, "<arn>:*"); ' +
        'the grant names this one function only.',
    });
  }
}
