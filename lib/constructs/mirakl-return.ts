/**
 * The Mirakl return path deployed: the `mirakl-acceptance`, `mirakl-stock` and `mirakl-tracking` connectors on the
 * shared connector construct (each when enabled) with the marketplaces' Mirakl keys, the table access each one
 * uses and nothing more; a stock schedule per marketplace; and the acceptance deadline watch with its schedule and
 * an alarm per marketplace on `AcceptanceDeadlineAtRisk`.
 */
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import { ACCEPTANCE_WATCH_MINUTES } from '../../functions/shared/commerce/deadlineWatch';
import type { Config } from '../../functions/shared/config';
import { MarketBridgeConnector } from './connector';
import { MarketBridgeFunction, metricsNamespace } from './function';
import type { TableKey } from './tables';

const WATCH_INTERVAL = Duration.minutes(ACCEPTANCE_WATCH_MINUTES);
export const AT_RISK_METRIC = 'AcceptanceDeadlineAtRisk';

export interface MiraklReturnProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<Record<TableKey, ITable>>;
  readonly marketplaceSecrets: Readonly<Record<string, ISecret>>;
}

export class MiraklReturn extends Construct {
  readonly acceptance?: MarketBridgeConnector;
  readonly stock?: MarketBridgeConnector;
  readonly tracking?: MarketBridgeConnector;
  readonly watch?: MarketBridgeFunction;
  readonly schedules: Schedule[] = [];
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MiraklReturnProps) {
    super(scope, id);
    const { config, tables } = props;
    const mirakl = Object.values(props.marketplaceSecrets);
    const sfccSecret = config.sfcc?.inventory ? [Secret.fromSecretNameV2(this, 'SfccSecret', config.sfcc.secretName)] : [];
    const enabled = (name: 'mirakl-acceptance' | 'mirakl-stock' | 'mirakl-tracking') => config.connectors[name]?.enabled === true;
    const connector = (name: 'mirakl-acceptance' | 'mirakl-stock' | 'mirakl-tracking', description: string, secrets: ISecret[]) =>
      new MarketBridgeConnector(this, name, { config, connector: name, bus: props.bus, tables, description, secrets });

    if (enabled('mirakl-acceptance')) {
      this.acceptance = connector('mirakl-acceptance', 'Accepts Mirakl orders (OR21) when SKUs map and SFCC stock covers them', [...mirakl, ...sfccSecret]);
      // SKU map and stock readings (batch get), the deadline watch list (put, delete).
      this.acceptance.function.grantTable(TABLES.mappings, tables.mappings, ['BatchGetItem', 'PutItem', 'DeleteItem']);
    }
    if (enabled('mirakl-tracking')) {
      this.tracking = connector('mirakl-tracking', 'SFCC shipments to Mirakl tracking and shipment (OR23/OR24 or ST01)', mirakl);
      // Carrier map (read, SH21 seeding) and the SH21 call slot.
      this.tracking.function.grantTable(TABLES.mappings, tables.mappings, ['BatchGetItem', 'PutItem']);
      this.tracking.function.grantTable(TABLES.state, tables.state, ['UpdateItem']);
    }
    if (enabled('mirakl-stock')) {
      this.stock = connector('mirakl-stock', 'SFCC available-to-sell to Mirakl stock imports (STO01-STO03)', [...mirakl, ...sfccSecret]);
      // SKU map and readings (query, put), pushed quantities (update), outstanding imports (put, delete).
      this.stock.function.grantTable(TABLES.mappings, tables.mappings, ['Query', 'PutItem', 'UpdateItem', 'DeleteItem']);
      this.stock.function.grantTable(TABLES.state, tables.state, ['UpdateItem']);
      for (const marketplace of config.marketplaces) {
        this.schedules.push(
          this.schedule(`Stock-${marketplace.id}`, this.stock.function, {
            description: `Stock run for ${marketplace.name} every ${marketplace.stockPushMinutes} minute(s): STO02/STO03 follow-up and pending STO01`,
            every: Duration.minutes(marketplace.stockPushMinutes),
            input: { marketplace: marketplace.id },
          }),
        );
      }
    }
    if (this.acceptance) {
      this.watch = new MarketBridgeFunction(this, 'Watch', {
        entry: 'functions/acceptance-watch.ts',
        serviceName: 'acceptance-watch',
        description: 'Raises exceptions and a metric for orders close to their Mirakl acceptance deadline',
        config,
        timeout: Duration.minutes(2),
        // The next scheduled run is the retry.
        retryAttempts: 0,
      });
      this.watch.grantTable(TABLES.mappings, tables.mappings, ['Query', 'DeleteItem']);
      this.watch.grantTable(TABLES.state, tables.state, ['BatchGetItem']);
      this.watch.grantTable(TABLES.exceptions, tables.exceptions, ['UpdateItem']);
      this.schedules.push(
        this.schedule('AcceptanceWatch', this.watch, { description: 'Acceptance deadline watch', every: WATCH_INTERVAL, input: {} }),
      );
      for (const marketplace of config.marketplaces) {
        this.alarms.push(
          new Alarm(this, `DeadlineAtRisk-${marketplace.id}`, {
            alarmDescription: `${marketplace.name}: an order is less than ${marketplace.acceptance.alarmMarginHours} h from Mirakl's auto-refusal`,
            metric: new Metric({
              namespace: metricsNamespace(this),
              metricName: AT_RISK_METRIC,
              dimensionsMap: { service: 'acceptance-watch', marketplace: marketplace.id },
              statistic: 'Maximum',
              period: WATCH_INTERVAL,
            }),
            threshold: 0,
            comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
        );
      }
    }
  }

  private schedulerRole?: iam.Role;
  private scheduleDlq?: Queue;

  /** One role and one dead-letter queue for every schedule of the return path. */
  private schedule(id: string, target: IFunction, options: { description: string; every: Duration; input: object }): Schedule {
    if (!this.schedulerRole || !this.scheduleDlq) {
      this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
        description: 'EventBridge Scheduler: invoke the stock run and the acceptance watch',
      });
      this.scheduleDlq = new Queue(this, 'ScheduleDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
      Validations.of(this.scheduleDlq).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the return-path schedules; it has nowhere further to send.',
      });
    }
    const schedule = new Schedule(this, id, {
      description: options.description,
      schedule: ScheduleExpression.rate(options.every),
      // A run older than its interval is superseded by the next one.
      target: new LambdaInvoke(target, {
        role: this.schedulerRole,
        input: ScheduleTargetInput.fromObject(options.input),
        deadLetterQueue: this.scheduleDlq,
        retryAttempts: 3,
        maxEventAge: options.every,
      }),
    });
    const functionId = Stack.of(this).getLogicalId(target.node.defaultChild as CfnElement);
    Validations.of(this.schedulerRole.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
      reason: 'CDK grantInvoke also allows the function\'s own qualified ARNs (versions/aliases, "<arn>:*"); the grant names this one function only.',
    });
    return schedule;
  }
}
