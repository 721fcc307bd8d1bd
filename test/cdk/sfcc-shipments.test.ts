/**
 * The scheduled SFCC shipments read in the stack: deployed with mirakl-tracking when SFCC is configured, every
 * SHIPMENTS_READ_MINUTES through EventBridge Scheduler, with only its cursor row's table access, the bus and the SFCC
 * secret; cdk-nag AwsSolutions clean (addMarketBridge applies it and synthesis throws on a finding).
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config';
import { SHIPMENTS_READ_MINUTES } from '../../functions/shared/sfcc/shipmentsRun';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { SFCC_SECRET, sfccConfig } from '../support/sfccFixtures';
import { defaultPolicyStatements, logicalId } from '../support/cdk';

const withTracking = (enabled: boolean) => {
  const base = sfccConfig('https://unused.example');
  return parseConfig({ ...base, connectors: { ...base.connectors, 'mirakl-tracking': { enabled } } });
};

describe('sfcc-shipments in the stack', () => {
  let stack: MarketBridgeStack;
  let template: Template;

  beforeAll(() => {
    const app = new App();
    stack = addMarketBridge(app, withTracking(true));
    app.synth();
    template = Template.fromStack(stack);
  }, 120_000);

  it('is absent without mirakl-tracking', () => {
    expect(addMarketBridge(new App(), withTracking(false)).sfccShipments).toBeUndefined();
  });

  it('runs the handler on its schedule with an empty input, a dead-letter queue and a bounded event age', () => {
    const shipments = stack.sfccShipments!;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: `rate(${SHIPMENTS_READ_MINUTES} minutes)`,
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(shipments.function), 'Arn'] },
        Input: '{}',
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(shipments.deadLetterQueue), 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: SHIPMENTS_READ_MINUTES * 60, MaximumRetryAttempts: 3 },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'sfcc-shipments' }) },
    });
  });

  it('may read its cursor, put events on the bus and read the SFCC secret, nothing broader', () => {
    const shipments = stack.sfccShipments!;
    const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
    const statements = defaultPolicyStatements(resources, shipments.function.role);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
    expect(actions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'events:PutEvents', 'secretsmanager:GetSecretValue']);
    expect(JSON.stringify(statements)).toContain(`:secret:${SFCC_SECRET}-??????`);
  });
});
