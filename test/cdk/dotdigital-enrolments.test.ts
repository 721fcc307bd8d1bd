/**
 * Dotdigital in the stack: the connector may take order leases and record pending enrolments in the state table
 * (exact actions); the enrolment run is deployed when a programme is configured, every ENROLMENT_RUN_MINUTES through
 * EventBridge Scheduler, with only its state rows, the inbox and the Dotdigital secret; leases outlive the functions
 * that hold them. cdk-nag AwsSolutions clean (addMarketBridge applies it and synthesis throws on a finding).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { everyConnectorConfig } from '../../bench/pipeline';
import { parseConfig } from '../../functions/shared/config';
import { ORDER_LEASE_TTL_MS } from '../../functions/shared/connector/lease';
import { ENROLMENT_RUN_MINUTES, ENROLMENT_RUN_TIMEOUT_SECONDS } from '../../functions/shared/dotdigital/enrolments';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { defaultPolicyStatements, logicalId } from '../support/cdk';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

describe('Dotdigital enrolment run and order leases in the stack', () => {
  let stack: MarketBridgeStack;
  let resources: Resources;
  let template: Template;

  /** Each DynamoDB table the function's policy names, with its actions. */
  const tableActions = (fn: IConstruct & { role?: unknown }) => {
    const statements = defaultPolicyStatements(resources, fn.role as IConstruct);
    const byTable: Record<string, string[]> = {};
    for (const [key, table] of Object.entries(stack.tables)) {
      const actions = statements.filter((s) => JSON.stringify(s.Resource).includes(logicalId(table))).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
      if (actions.length > 0) byTable[key] = actions.sort();
    }
    return { byTable, statements };
  };

  beforeAll(() => {
    const app = new App();
    stack = addMarketBridge(app, everyConnectorConfig);
    app.synth();
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources as Resources;
  }, 240_000);

  it('is absent when no programme is configured', () => {
    const dotdigital = { ...everyConnectorConfig.connectors.dotdigital, programmes: {} };
    const config = parseConfig({ ...everyConnectorConfig, connectors: { ...everyConnectorConfig.connectors, dotdigital } });
    expect(addMarketBridge(new App(), config).dotdigitalEnrolments).toBeUndefined();
  });

  it('runs every three minutes with an empty input, a dead-letter queue and an event age of one interval', () => {
    const run = stack.dotdigitalEnrolments!;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: `rate(${ENROLMENT_RUN_MINUTES} minutes)`,
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(run.function), 'Arn'] },
        Input: '{}',
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(run.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: ENROLMENT_RUN_MINUTES * 60, MaximumRetryAttempts: 3 },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: ENROLMENT_RUN_TIMEOUT_SECONDS,
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'dotdigital-enrolments' }) },
    });
  });

  it('the run may use its state rows, record exceptions and read the Dotdigital secret, nothing broader', () => {
    const { byTable, statements } = tableActions(stack.dotdigitalEnrolments!.function);
    expect(byTable).toEqual({
      state: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      exceptions: ['dynamodb:UpdateItem'],
    });
    const others = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).filter((a) => !/^(logs|xray|dynamodb):/.test(a));
    expect(others).toEqual(['secretsmanager:GetSecretValue']);
    expect(JSON.stringify(statements)).toContain(':secret:marketbridge/dotdigital-??????');
  });

  it('the connector may take order leases and add pending enrolments in state with exact actions', () => {
    const { byTable } = tableActions(stack.marketing.dotdigital!.function);
    expect(byTable.state).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('an order lease outlives every function that holds one', () => {
    for (const fn of [stack.marketing.dotdigital!.function, stack.sfccOrders!.connector.function]) {
      expect(resources[logicalId(fn)]!.Properties.Timeout * 1000).toBeLessThanOrEqual(ORDER_LEASE_TTL_MS);
    }
  });
});
