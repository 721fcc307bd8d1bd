/**
 * Operations, deployed: the alarm topic (KMS-encrypted, SSL-only, e-mail subscribers from the configuration), the
 * CloudWatch alarms that tell the teams something needs them, a dashboard with one row per flow, the daily
 * reconciliation and the weekly health report. Thresholds come from `operations.alarms`.
 *
 * Alarms: per connector DLQ depth > 0, oldest message age, rate-limited calls; per marketplace poller failures
 * and cursor lag; the poller's schedule DLQ; acceptance deadlines at risk (the return path's alarms, given a
 * topic here); open exceptions; reconciliation gaps per connector; crashes of every function no queue feeds.
 */
import { Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config, ConnectorName, MarketplaceConfig } from '../../functions/shared/config';
import { CONNECTOR_METRICS } from '../../functions/shared/connector/runtime';
import { orderConnectors, RECONCILE_METRICS } from '../../functions/shared/operations/reconcile';
import { STACK_NAME_ENV } from '../../functions/shared/operations/queues';
import { ALERT_TOPIC_ENV } from '../../functions/shared/operations/report';
import type { MarketBridgeConnector } from './connector';
import { MarketBridgeFunction, metricsNamespace } from './function';
import type { MiraklPoller } from './poller';
import type { TableKey } from './tables';

/** After the daily sweep (03:15 UTC): the sweep's late finds have been delivered by then. */
const RECONCILE_CRON = { hour: '5', minute: '0' } as const;
/** Monday morning, for the week that just ended. */
const REPORT_CRON = { weekDay: 'MON', hour: '7', minute: '0' } as const;
const DAY = Duration.days(1);

/** Cursor lag threshold: configured, else three poll intervals (at least 15 minutes). */
export function cursorLagMinutes(config: Config, marketplace: MarketplaceConfig): number {
  return config.operations.alarms.cursorLagMinutes ?? Math.max(15, 3 * marketplace.poll.intervalMinutes);
}

export interface OperationsProps {
  readonly config: Config;
  readonly tables: Readonly<Record<TableKey, ITable>>;
  readonly marketplaceSecrets: Readonly<Record<string, ISecret>>;
  readonly poller: MiraklPoller;
  readonly connectors: readonly MarketBridgeConnector[];
  /** The stack's other functions (poller, webhook, scheduled jobs); crashes of those a queue does not feed alarm. */
  readonly functions?: readonly MarketBridgeFunction[];
  /** Alarms made elsewhere (the acceptance deadline watch) that should also notify the topic. */
  readonly alarms?: readonly Alarm[];
}

export class Operations extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  readonly reconcile: MarketBridgeFunction;
  readonly weeklyReport: MarketBridgeFunction;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const { config, tables } = props;
    const thresholds = config.operations.alarms;

    // CloudWatch can publish to an encrypted topic only with a customer managed key that lets it.
    const key = new Key(this, 'TopicKey', { enableKeyRotation: true, description: 'MarketBridge alarm topic' });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'Alarms', { displayName: 'MarketBridge alarms and reports', masterKey: key, enforceSSL: true });
    for (const address of config.operations.subscribers) this.topic.addSubscription(new EmailSubscription(address));
    const action = new SnsAction(this.topic);

    const alarm = (id: string, description: string, metric: IMetric, threshold: number, evaluationPeriods = 1) => {
      const created = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };
    const metric = (metricName: string, dimensionsMap: Record<string, string>, statistic: string, period: Duration) =>
      new Metric({ namespace: metricsNamespace(this), metricName, dimensionsMap, statistic, period });

    const connectorMetrics = new Map<string, (name: string, statistic?: string) => Metric>();
    for (const connector of props.connectors) {
      const name = connector.connector;
      const of = (metricName: string, statistic = 'Sum') => metric(metricName, { service: name, connector: name }, statistic, Duration.minutes(5));
      connectorMetrics.set(name, of);
      alarm(
        `DlqNotEmpty-${name}`,
        `Operations: ${name} has records in its dead-letter queue. See the exception inbox, fix the cause, then "marketbridge redrive --stack ${Stack.of(this).stackName} --connector ${name}".`,
        connector.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
        0,
      );
      alarm(
        `QueueBehind-${name}`,
        `Operations: the oldest record waiting for ${name} is older than ${thresholds.oldestMessageAgeMinutes} minutes (the destination is slow, down or throttling).`,
        connector.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }),
        thresholds.oldestMessageAgeMinutes * 60,
      );
      alarm(
        `RateLimited-${name}`,
        `Operations: ${name} was asked to slow down (HTTP 429) more than ${thresholds.rateLimitedPer5Minutes} times in 5 minutes; deliveries are delayed.`,
        of(CONNECTOR_METRICS.rateLimited),
        thresholds.rateLimitedPer5Minutes,
      );
    }

    for (const marketplace of config.marketplaces) {
      const dims = { service: 'poller', marketplace: marketplace.id };
      alarm(
        `PollFailed-${marketplace.id}`,
        `Operations: polling ${marketplace.name} failed twice in a row (Mirakl down, key rejected, or a bug); orders are not coming in.`,
        metric('PollFailed', dims, 'Sum', Duration.minutes(Math.max(5, marketplace.poll.intervalMinutes))),
        0,
        2,
      );
      const lag = cursorLagMinutes(config, marketplace);
      alarm(
        `CursorLag-${marketplace.id}`,
        `Operations: ${marketplace.name} orders are more than ${lag} minutes behind Mirakl.`,
        metric('CursorLagSeconds', dims, 'Maximum', Duration.minutes(Math.max(5, marketplace.poll.intervalMinutes))),
        lag * 60,
      );
    }
    alarm(
      'PollerScheduleDlq',
      'Operations: scheduled polls could not be started and were dead-lettered.',
      props.poller.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
      0,
    );
    for (const existing of props.alarms ?? []) existing.addAlarmAction(action);

    const reconcileDims = { service: 'reconcile' };
    alarm(
      'OpenExceptions',
      `All teams: more than ${thresholds.openExceptions} exceptions are open. Each team: "marketbridge exceptions list --owner TEAM".`,
      metric(RECONCILE_METRICS.openExceptions, reconcileDims, 'Maximum', DAY),
      thresholds.openExceptions,
    );
    const reconciled = [...new Set(config.marketplaces.flatMap((mp) => orderConnectors(config, mp.id).map((c) => c.connector)))];
    for (const connector of reconciled) {
      alarm(
        `ReconciliationGap-${connector}`,
        `Operations: the daily reconciliation found more than ${thresholds.reconciliationMissing} order(s) missing in ${connector}; see the reconciliation.missing exceptions and retry them.`,
        metric(RECONCILE_METRICS.missing, { ...reconcileDims, connector }, 'Maximum', DAY),
        thresholds.reconciliationMissing,
      );
    }

    this.reconcile = this.operationsFunction('Reconcile', {
      entry: 'functions/reconcile.ts',
      serviceName: 'reconcile',
      description: 'Daily reconciliation: Mirakl orders against what each connector delivered',
      props,
      // Records missing orders as exceptions and keeps the latest result per marketplace.
      exceptionActions: ['UpdateItem'],
      stateActions: ['BatchGetItem', 'UpdateItem', 'PutItem'],
    });
    new Rule(this, 'ReconcileSchedule', {
      description: 'Daily reconciliation after the sweep',
      schedule: Schedule.cron(RECONCILE_CRON),
      targets: [new LambdaFunction(this.reconcile, { event: RuleTargetInput.fromObject({ days: config.operations.reconciliation.days }), retryAttempts: 2 })],
    });
    this.weeklyReport = this.operationsFunction('WeeklyReport', {
      entry: 'functions/weekly-report.ts',
      serviceName: 'weekly-report',
      description: 'Weekly health report for the business teams, mailed through the alarm topic',
      props,
      exceptionActions: [],
      // A read-only reconciliation: OR11 call slots only.
      stateActions: ['BatchGetItem', 'UpdateItem'],
    });
    this.weeklyReport.addEnvironment(ALERT_TOPIC_ENV, this.topic.topicArn);
    this.weeklyReport.addEnvironment(STACK_NAME_ENV, Stack.of(this).stackName);
    this.weeklyReport.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    this.weeklyReport.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }));
    if (props.connectors.length > 0) {
      this.weeklyReport.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:ListMessageMoveTasks'],
          resources: props.connectors.map((c) => c.deadLetterQueue.queueArn),
        }),
      );
    }
    this.weeklyReport.addToRolePolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    Validations.of(this.weeklyReport.role?.node.findChild('DefaultPolicy') as Construct).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:GetMetricData (the rate-limit figures) and X-Ray support no resource-level permissions.',
    });
    new Rule(this, 'WeeklyReportSchedule', {
      description: 'Weekly health report, Monday morning',
      schedule: Schedule.cron(REPORT_CRON),
      targets: [new LambdaFunction(this.weeklyReport, { event: RuleTargetInput.fromObject({}), retryAttempts: 2 })],
    });
    // Every function a queue does not feed (poller, webhook, scheduled jobs, these two): a crash is worth a look.
    // Functions a queue feeds are covered by their DLQ alarms: their failures end there.
    const fedByQueue = (fn: MarketBridgeFunction) => fn.node.children.some((child) => child instanceof EventSourceMapping);
    const unfed = [...(props.functions ?? []), this.reconcile, this.weeklyReport].filter((fn) => !fedByQueue(fn));
    for (const fn of unfed) {
      alarm(
        `Errors-${Names.uniqueId(fn)}`,
        `Operations: the function ${fn.node.path} failed twice in a row (see its logs).`,
        fn.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
        0,
        2,
      );
    }

    this.dashboard = this.buildDashboard(config, props, connectorMetrics, reconciled);
  }

  /** A function that reads OR11 (marketplace keys), snapshots, delivery records and the inbox's status index. */
  private operationsFunction(
    id: string,
    options: {
      entry: string;
      serviceName: string;
      description: string;
      props: OperationsProps;
      exceptionActions: ('UpdateItem')[];
      stateActions: ('BatchGetItem' | 'UpdateItem' | 'PutItem')[];
    },
  ): MarketBridgeFunction {
    const { config, tables, marketplaceSecrets } = options.props;
    const fn = new MarketBridgeFunction(this, id, {
      entry: options.entry,
      serviceName: options.serviceName,
      description: options.description,
      config,
      // Reads every order of the window from Mirakl, waiting for OR11 call slots between marketplaces.
      timeout: Duration.minutes(15),
      memorySize: 1024,
      // The next scheduled run is the retry.
      retryAttempts: 0,
    });
    fn.grantTable(TABLES.state, tables.state, options.stateActions);
    fn.grantTable(TABLES.idempotency, tables.idempotency, ['GetItem']);
    if (options.exceptionActions.length > 0) fn.grantTable(TABLES.exceptions, tables.exceptions, options.exceptionActions);
    else fn.addEnvironment(TABLES.exceptions.envVar, tables.exceptions.tableName);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${tables.exceptions.tableArn}/index/byStatus`] }));
    for (const secret of Object.values(marketplaceSecrets)) fn.grantSecretValue(secret);
    return fn;
  }

  private buildDashboard(
    config: Config,
    props: OperationsProps,
    connectorMetrics: Map<string, (name: string, statistic?: string) => Metric>,
    reconciled: readonly ConnectorName[],
  ): Dashboard {
    const dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${Stack.of(this).stackName}-operations` });
    const ns = metricsNamespace(this);
    dashboard.addWidgets(new TextWidget({ markdown: '# MarketBridge\nOne row per flow: each marketplace into the bus, then each destination. Red lines are alarm thresholds.', width: 24, height: 2 }));
    for (const marketplace of config.marketplaces) {
      const dims = { service: 'poller', marketplace: marketplace.id };
      const m = (name: string, statistic = 'Sum') => new Metric({ namespace: ns, metricName: name, dimensionsMap: dims, statistic, period: Duration.minutes(5) });
      dashboard.addWidgets(
        new GraphWidget({ title: `${marketplace.name} → bus: orders and events`, left: [m('OrdersRead'), m('EventsPublished')], width: 9 }),
        new GraphWidget({ title: `${marketplace.name}: exceptions and failed polls`, left: [m('ExceptionsRecorded'), m('PollFailed')], width: 8 }),
        new GraphWidget({ title: `${marketplace.name}: cursor lag (s)`, left: [m('CursorLagSeconds', 'Maximum')], width: 7 }),
      );
    }
    for (const connector of props.connectors) {
      const name = connector.connector;
      const of = connectorMetrics.get(name) as (metricName: string, statistic?: string) => Metric;
      dashboard.addWidgets(
        new GraphWidget({
          title: `bus → ${name}: deliveries`,
          left: [of(CONNECTOR_METRICS.delivered), of(CONNECTOR_METRICS.duplicate), of(CONNECTOR_METRICS.retried), of(CONNECTOR_METRICS.failed)],
          width: 9,
        }),
        new GraphWidget({ title: `${name}: rate limited (429)`, left: [of(CONNECTOR_METRICS.rateLimited)], width: 5 }),
        new GraphWidget({
          title: `${name}: queue`,
          left: [connector.queue.metricApproximateNumberOfMessagesVisible(), connector.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
          right: [connector.queue.metricApproximateAgeOfOldestMessage()],
          width: 10,
        }),
      );
    }
    const daily = (name: string, dims: Record<string, string>) => new Metric({ namespace: ns, metricName: name, dimensionsMap: dims, statistic: 'Maximum', period: DAY });
    dashboard.addWidgets(
      new SingleValueWidget({ title: 'Open exceptions', metrics: [daily(RECONCILE_METRICS.openExceptions, { service: 'reconcile' })], width: 6 }),
      new GraphWidget({
        title: 'Reconciliation: orders missing per destination',
        left: reconciled.map((connector) => daily(RECONCILE_METRICS.missing, { service: 'reconcile', connector })),
        width: 18,
      }),
    );
    return dashboard;
  }
}
