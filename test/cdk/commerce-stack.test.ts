/**
 * The Mirakl return path in the stack: the three connectors on the shared construct with the marketplaces' keys
 * and only the table actions they use, a stock schedule per marketplace, the acceptance deadline watch with its
 * schedule and an alarm per marketplace; cdk-nag AwsSolutions clean (synthesis fails on any finding).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfig, sandboxConfigInput } from '../../functions/shared/config';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { defaultPolicyStatements, logicalId, type PolicyStatement } from '../support/cdk';


const config = parseConfig({
  ...sandboxConfigInput,
  connectors: {
    'mirakl-acceptance': { enabled: true },
    'mirakl-stock': { enabled: true },
    'mirakl-tracking': { enabled: true },
  },
});

describe('Mirakl return path in the stack', () => {
  let stack: MarketBridgeStack;
  let template: Template;
  let resources: Record<string, { Type: string; Properties: Record<string, any> }>;

  function statementsOf(fn: IConstruct): PolicyStatement[] {
    return defaultPolicyStatements(resources, (fn as unknown as { role: IConstruct }).role);
  }

  function dynamoActions(fn: IConstruct, table: IConstruct): string[] {
    const arn = { 'Fn::GetAtt': [logicalId(table), 'Arn'] };
    return statementsOf(fn)
      .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(arn))
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .sort();
  }

  beforeAll(() => {
    const app = new App();
    stack = addMarketBridge(app, config);
    app.synth();
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
  }, 120_000);

  it('is absent when none of its connectors is enabled', () => {
    expect(addMarketBridge(new App(), sandboxConfig).miraklReturn).toBeUndefined();
  });

  it('routes each connector\'s events to its queue with partial batch failures', () => {
    const r = stack.miraklReturn!;
    for (const [connector, detailType] of [
      [r.acceptance!, 'Order Awaiting Acceptance'],
      [r.stock!, 'Stock Changed'],
      [r.tracking!, 'Shipment Dispatched'],
    ] as const) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({ 'detail-type': [detailType] }),
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(connector.queue), 'Arn'] } })],
      });
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(connector.queue), 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('grants each function exactly the table actions it uses, and the Mirakl keys', () => {
    const r = stack.miraklReturn!;
    const { mappings, state } = stack.tables;
    expect(dynamoActions(r.acceptance!.function, mappings)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem']);
    expect(dynamoActions(r.acceptance!.function, state)).toEqual([]);
    expect(dynamoActions(r.tracking!.function, mappings)).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem']);
    expect(dynamoActions(r.tracking!.function, state)).toEqual(['dynamodb:UpdateItem']);
    expect(dynamoActions(r.stock!.function, mappings)).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(dynamoActions(r.watch!, mappings)).toEqual(['dynamodb:DeleteItem', 'dynamodb:Query']);
    expect(dynamoActions(r.watch!, state)).toEqual(['dynamodb:BatchGetItem']);
    for (const fn of [r.acceptance!.function, r.stock!.function, r.tracking!.function]) {
      const text = JSON.stringify(statementsOf(fn));
      for (const mp of config.marketplaces) expect(text).toContain(`:secret:${mp.apiKeySecret}-??????`);
      expect(text).not.toContain('events:PutEvents');
    }
    expect(JSON.stringify(statementsOf(r.watch!))).not.toContain('secretsmanager');
  });

  it('schedules a stock run per marketplace at its interval and the watch every 15 minutes', () => {
    for (const mp of config.marketplaces) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: `rate(${mp.stockPushMinutes} minutes)`,
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack.miraklReturn!.stock!.function), 'Arn'] },
          Input: JSON.stringify({ marketplace: mp.id }),
        }),
      });
    }
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.miraklReturn!.watch!), 'Arn'] } }),
    });
  });

  it('alarms per marketplace when an order is at risk of auto-refusal', () => {
    for (const mp of config.marketplaces) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'AcceptanceDeadlineAtRisk',
        Namespace: 'MarketBridge',
        Dimensions: Match.arrayWith([{ Name: 'marketplace', Value: mp.id }]),
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });
});
