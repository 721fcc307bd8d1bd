/**
 * Operations in the stack: the alarm topic with the configured subscribers, every alarm the teams rely on (with
 * thresholds from the configuration, all notifying the topic), the dashboard's rows per flow, the reconcile and
 * weekly-report functions with their schedules and least-privilege grants, queue names for redrive; the
 * synthesis runs the cdk-nag AwsSolutions checks, which fail it on any unacknowledged finding.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { cursorLagMinutes } from '../../lib/constructs/operations';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { defaultPolicyStatements, logicalId } from '../support/cdk';

const config = parseConfig({
  ...sandboxConfigInput,
  connectors: {
    klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' },
    'mirakl-acceptance': { enabled: true },
  },
  operations: {
    subscribers: ['ops@brand.example', 'ecommerce@brand.example'],
    alarms: { oldestMessageAgeMinutes: 20, rateLimitedPer5Minutes: 30, openExceptions: 10, reconciliationMissing: 0 },
  },
});

type Resource = { Type: string; Properties: Record<string, any> };
describe('operations in the stack', () => {
  let stack: MarketBridgeStack;
  let template: Template;
  let alarms: Record<string, Resource>;
  let topicRef: { Ref: string };

  beforeAll(() => {
    const app = new App();
    stack = addMarketBridge(app, config);
    app.synth();
    template = Template.fromStack(stack);
    alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>;
    topicRef = { Ref: logicalId(stack.operations.topic) };
  }, 120_000);

  const alarmsWhere = (match: (p: Record<string, any>) => boolean) => Object.values(alarms).map((a) => a.Properties).filter(match);

  it('has one encrypted, SSL-only topic with the configured e-mail subscribers', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const address of config.operations.subscribers) {
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: address, TopicArn: topicRef });
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('sends every alarm, including the deadline watch ones, to the topic', () => {
    expect(Object.keys(alarms).length).toBeGreaterThan(10);
    for (const alarm of Object.values(alarms)) expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
    expect(alarmsWhere((p) => p.MetricName === 'AcceptanceDeadlineAtRisk')).toHaveLength(config.marketplaces.length);
  });

  it('alarms on dead letters, queue age and 429 pressure for each connector, with configured thresholds', () => {
    for (const connector of ['klaviyo', 'mirakl-acceptance']) {
      const dlq = alarmsWhere((p) => p.MetricName === 'ApproximateNumberOfMessagesVisible' && String(p.AlarmDescription).includes(`${connector} has records in its dead-letter queue`));
      expect(dlq).toHaveLength(1);
      expect(dlq[0]).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum' });
      const age = alarmsWhere((p) => p.MetricName === 'ApproximateAgeOfOldestMessage' && String(p.AlarmDescription).includes(connector));
      expect(age).toEqual([expect.objectContaining({ Threshold: 20 * 60 })]);
      const throttled = alarmsWhere((p) => p.MetricName === 'RateLimited' && p.Dimensions.some((d: any) => d.Name === 'connector' && d.Value === connector));
      expect(throttled).toEqual([expect.objectContaining({ Namespace: 'MarketBridge', Threshold: 30, Statistic: 'Sum', Period: 300 })]);
    }
  });

  it('alarms on poller failures and cursor lag per marketplace, and on the poller function and its schedule DLQ', () => {
    for (const marketplace of config.marketplaces) {
      const dims = [{ Name: 'marketplace', Value: marketplace.id }, { Name: 'service', Value: 'poller' }];
      const byMetric = (name: string) =>
        alarmsWhere((p) => p.MetricName === name && JSON.stringify([...p.Dimensions].sort((a: any, b: any) => a.Name.localeCompare(b.Name))) === JSON.stringify(dims));
      expect(byMetric('PollFailed')).toEqual([expect.objectContaining({ Threshold: 0, EvaluationPeriods: 2 })]);
      expect(byMetric('CursorLagSeconds')).toEqual([expect.objectContaining({ Threshold: cursorLagMinutes(config, marketplace) * 60, Statistic: 'Maximum' })]);
    }
    expect(cursorLagMinutes(config, config.marketplaces[0]!)).toBe(15);
    // Every function no queue feeds (poller, webhook, deadline watch, reconcile, weekly report…) alarms on a crash.
    const crashWatched = alarmsWhere((p) => p.MetricName === 'Errors' && p.Namespace === 'AWS/Lambda').map((p) => p.Dimensions[0].Value.Ref);
    const functions = Object.entries(template.findResources('AWS::Lambda::Function')).map(([id]) => id);
    const fed = new Set(Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((m: any) => m.Properties.FunctionName.Ref));
    expect(crashWatched.sort()).toEqual(functions.filter((id) => !fed.has(id)).sort());
    expect(crashWatched).toContain(logicalId(stack.poller.function));
  });

  it('alarms on open exceptions and on reconciliation gaps per connector', () => {
    expect(alarmsWhere((p) => p.MetricName === 'OpenExceptions')).toEqual([expect.objectContaining({ Threshold: 10, Period: 86400 })]);
    const gaps = alarmsWhere((p) => p.MetricName === 'ReconciliationMissing');
    expect(gaps.map((g) => g.Dimensions.find((d: any) => d.Name === 'connector').Value).sort()).toEqual(['klaviyo', 'mirakl-acceptance']);
  });

  it('has a dashboard with one row per flow: each marketplace into the bus, then each destination', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
    for (const title of ['Debenhams → bus', 'Decathlon → bus', 'bus → klaviyo', 'bus → mirakl-acceptance', 'Reconciliation: orders missing per destination']) {
      expect(body).toContain(title);
    }
  });

  it('schedules the reconciliation daily and the report weekly, with only the access they use', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 5 * * ? *)' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 7 ? * MON *)' });
    const policies = template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
    const statementsOf = (fn: IConstruct) => {
      return defaultPolicyStatements(policies, (fn as unknown as { role: IConstruct }).role);
    };
    const actions = (fn: IConstruct) => statementsOf(fn).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions(stack.operations.reconcile).filter((a) => a.startsWith('dynamodb:') || a.startsWith('sns:'))).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
    ]);
    const report = actions(stack.operations.weeklyReport);
    expect(report).toEqual(expect.arrayContaining(['sns:Publish', 'sqs:ListMessageMoveTasks', 'cloudwatch:GetMetricData']));
    expect(report).not.toContain('dynamodb:PutItem');
    expect(report.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('names connector queues after the stack so `marketbridge redrive --connector` finds them', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'marketbridge-klaviyo' });
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'marketbridge-klaviyo-dlq' });
  });
});
