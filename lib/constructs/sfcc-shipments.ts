/**
 * The scheduled read of SFCC shipments deployed: a function every SHIPMENTS_READ_MINUTES that turns shipped SFCC
 * shipments into `Shipment Dispatched` events for `mirakl-tracking`, so dispatch works without a hook in the
 * brand's SFCC cartridge. It reads the SFCC secret, its cursor row in the state table and puts events on the bus.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { SHIPMENTS_READ_MINUTES } from '../../functions/shared/sfcc/shipmentsRun';
import { MarketBridgeFunction } from './function';
import type { TableKey } from './tables';

export interface SfccShipmentsProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<Record<TableKey, ITable>>;
}

export class SfccShipments extends Construct {
  readonly function: MarketBridgeFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SfccShipmentsProps) {
    super(scope, id);
    const sfcc = props.config.sfcc;
    if (!sfcc) throw new Error('the SFCC shipments read needs the sfcc block of the configuration');
    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/sfcc-shipments.ts',
      serviceName: 'sfcc-shipments',
      description: 'Reads shipped SFCC shipments and publishes them as Shipment Dispatched for Mirakl dispatch',
      config: props.config,
      timeout: Duration.minutes(2),
      // The next scheduled run is the retry: the cursor only advances once the events are on the bus.
      retryAttempts: 0,
    });
    // Its cursor row: read, then a conditional update.
    this.function.grantTable(TABLES.state, props.tables.state, ['GetItem', 'UpdateItem']);
    this.function.grantPublish(props.bus);
    this.function.grantSecretValue(Secret.fromSecretNameV2(this, 'SfccSecret', sfcc.secretName));

    this.deadLetterQueue = new Queue(this, 'ScheduleDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the shipments-read schedule; it has nowhere further to send.',
    });
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'EventBridge Scheduler: invoke the SFCC shipments read',
    });
    const every = Duration.minutes(SHIPMENTS_READ_MINUTES);
    this.schedule = new Schedule(this, 'Schedule', {
      description: `Read SFCC shipments every ${SHIPMENTS_READ_MINUTES} minutes`,
      schedule: ScheduleExpression.rate(every),
      // A run older than its interval is superseded by the next one.
      target: new LambdaInvoke(this.function, {
        role,
        input: ScheduleTargetInput.fromObject({}),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: every,
      }),
    });
    const functionId = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement);
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: 'CDK grantInvoke also allows the function\'s own qualified ARNs (versions/aliases, "<arn>:*"); the grant names this one function only.',
    });
  }
}
