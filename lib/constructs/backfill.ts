/**
 * The history load as its own job in AWS: a Step Functions state machine that invokes the backfill Lambda slice
 * after slice (each up to 15 minutes, progress saved in the `state` table after every chunk), waits in the state
 * machine while Mirakl prepares the export, and ends when the load is done. Start it with
 * `aws stepfunctions start-execution --state-machine-arn <BackfillStateMachineArn>
 *  --input '{"request":{"marketplace":"debenhams","from":"2026-01-01T00:00:00Z","to":"2026-11-01T00:00:00Z"}}'`
 * (optionally `"connectors":["dotdigital"]`); starting the same request again resumes it.
 *
 * The load publishes onto the bus like the poller, so events reach the connectors' own queues; it reads those
 * queues' depth to keep them stocked but never deep (functions/shared/backfill/backlog).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  StateMachine,
  Succeed,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { BACKFILL_QUEUES_ENV } from '../../functions/shared/backfill/awsDependencies';
import { highWaterMark } from '../../functions/shared/backfill/backlog';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { MarketBridgeFunction } from './function';

/** A history load runs for hours; a week bounds a stuck one. */
const EXECUTION_TIMEOUT = Duration.days(7);

export interface BackfillQueue {
  readonly queue: IQueue;
  /** Records per bulk batch and consumers at once: together they set the queue's high-water mark. */
  readonly batchSize: number;
  readonly maxConcurrency: number;
}

export interface BackfillJobProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<{ state: ITable; exceptions: ITable }>;
  readonly marketplaceSecrets: Readonly<Record<string, ISecret>>;
  /** The connector queues the load feeds, by connector name. */
  readonly queues: Readonly<Record<string, BackfillQueue>>;
}

export class BackfillJob extends Construct {
  readonly function: MarketBridgeFunction;
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: BackfillJobProps) {
    super(scope, id);
    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/backfill.ts',
      serviceName: 'backfill',
      description: 'History load slices: Mirakl OR13/OR14/OR15 (or OR11) onto the bus, marked backfill',
      config: props.config,
      timeout: Duration.minutes(15),
      // An export file (10,000 orders) is held in memory while its chunks are published.
      memorySize: 1024,
      // The state machine retries a failed slice; Lambda's own async retries would run a slice twice.
      retryAttempts: 0,
    });
    const fn = this.function;
    // Snapshots and progress are read, written conditionally and batch-read; call slots are updated.
    fn.grantTable(TABLES.state, props.tables.state, ['GetItem', 'PutItem', 'UpdateItem', 'BatchGetItem']);
    fn.grantTable(TABLES.exceptions, props.tables.exceptions, ['UpdateItem']);
    fn.grantPublish(props.bus);
    for (const secret of Object.values(props.marketplaceSecrets)) fn.grantSecretValue(secret);
    const queues = Object.entries(props.queues);
    if (queues.length > 0) {
      fn.addEnvironment(
        BACKFILL_QUEUES_ENV,
        Stack.of(this).toJsonString(
          Object.fromEntries(queues.map(([name, q]) => [name, { url: q.queue.queueUrl, highWater: highWaterMark(q.batchSize, q.maxConcurrency) }])),
        ),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:GetQueueAttributes'], resources: queues.map(([, q]) => q.queue.queueArn) }),
      );
    }

    const load = new LambdaInvoke(this, 'LoadSlice', {
      lambdaFunction: fn,
      // The slice sees the request alone; its answer is kept beside it (ResultPath applies to the whole state).
      inputPath: '$.request',
      payloadResponseOnly: true,
      resultPath: '$.slice',
      retryOnServiceExceptions: true,
    });
    // Mirakl or the bus failing mid-slice: progress is saved per chunk, so a retry only re-does the chunk in hand.
    load.addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(30), backoffRate: 2, maxAttempts: 5 });
    const waitForExport = new Wait(this, 'WaitForExport', { time: WaitTime.secondsPath('$.slice.waitSeconds') }).next(load);
    load.next(
      new Choice(this, 'LoadDone')
        .when(Condition.stringEquals('$.slice.status', 'done'), new Succeed(this, 'Loaded'))
        .when(Condition.stringEquals('$.slice.status', 'waiting'), waitForExport)
        .otherwise(load),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(load),
      timeout: EXECUTION_TIMEOUT,
      tracingEnabled: true,
    });
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        'Each slice logs its progress in the backfill function\'s own log group and the execution history keeps every ' +
        'transition for 90 days; state machine logging would need CloudWatch Logs delivery actions on Resource "*".',
    });
    Validations.of(this.stateMachine.role.node.findChild('DefaultPolicy')).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray for the state machine supports no resource-level permissions; the other statement invokes the backfill function.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as never)}.Arn>:*]`,
        reason: 'LambdaInvoke grants the backfill function and its versions (`:*`); it is this one function.',
      },
    );
  }
}
