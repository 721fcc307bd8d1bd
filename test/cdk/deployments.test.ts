/**
 * Several deployments in one account and region (staging beside production): two stacks with different names, every
 * connector on, share no physical name and no metrics namespace, and each one's queues are where `marketbridge redrive --stack NAME` and the
 * weekly report look for them (connectorQueueNames). The default stack keeps the queue names it always had, so an
 * upgrade replaces no queue.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { everyConnectorConfig } from '../../bench/pipeline';
import { connectorQueueNames, DEFAULT_STACK_NAME, STACK_NAME_ENV } from '../../functions/shared/operations/queues';
import { addMarketBridge } from '../../lib/marketbridge-app';

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** The property that holds each resource type's name in the account (one per type; CloudFormation's names). */
const PHYSICAL_NAME: Record<string, string> = {
  'AWS::SQS::Queue': 'QueueName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::Events::EventBus': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::Events::Archive': 'ArchiveName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::SSM::Parameter': 'Name',
};

const STAGING = 'MarketBridge-staging';

describe('two deployments in one account and region', () => {
  const names: Record<string, Map<string, string>> = {};
  const templates: Record<string, Template> = {};

  beforeAll(() => {
    const app = new App();
    const stacks = [addMarketBridge(app, everyConnectorConfig), addMarketBridge(app, everyConnectorConfig, STAGING)];
    app.synth();
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      templates[stack.stackName] = template;
      const named = new Map<string, string>();
      for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, Resource>)) {
        const property = PHYSICAL_NAME[resource.Type];
        const value = property ? resource.Properties?.[property] : undefined;
        // A name CloudFormation makes, or one built from the stack's own resources, cannot collide; a literal can.
        if (typeof value === 'string') named.set(`${resource.Type} ${value}`, id);
      }
      names[stack.stackName] = named;
    }
  }, 240_000);

  it('share no physical name', () => {
    const production = names[DEFAULT_STACK_NAME]!;
    const staging = names[STAGING]!;
    // Besides the queues: the dashboard (named after the stack) and the bus (named by CDK from its path).
    expect([...production.keys()]).toEqual(
      expect.arrayContaining([`AWS::CloudWatch::Dashboard ${DEFAULT_STACK_NAME}-operations`, expect.stringMatching(/^AWS::Events::EventBus /)]),
    );
    expect([...production.keys()].filter((name) => staging.has(name))).toEqual([]);
  });

  it('name every connector queue after their stack, the default stack as before', () => {
    const queues = (stack: string) => [...names[stack]!.keys()].filter((n) => n.startsWith('AWS::SQS::Queue ')).map((n) => n.slice(16)).sort();
    const expected = (stack: string) =>
      [...Object.keys(everyConnectorConfig.connectors), 'privacy']
        .flatMap((connector) => Object.values(connectorQueueNames(stack, connector)))
        .sort();
    expect(queues(DEFAULT_STACK_NAME)).toEqual(expected(DEFAULT_STACK_NAME));
    expect(queues(DEFAULT_STACK_NAME)).toContain('marketbridge-klaviyo-dlq');
    expect(queues(STAGING)).toEqual(expected(STAGING));
    expect(queues(STAGING)).toContain('marketbridge-staging-klaviyo');
  });

  it('tell the weekly report which stack it reports on', () => {
    for (const stack of [DEFAULT_STACK_NAME, STAGING]) {
      templates[stack]!.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'weekly-report', [STACK_NAME_ENV]: stack } },
      });
    }
  });

  it("keep their metrics apart: each stack's functions publish, and its alarms read, the stack's own namespace", () => {
    for (const stack of [DEFAULT_STACK_NAME, STAGING]) {
      const resources = Object.values(templates[stack]!.toJSON().Resources as Record<string, Resource>);
      const published = resources
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => (r.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables?.POWERTOOLS_METRICS_NAMESPACE)
        .filter((namespace) => namespace !== undefined);
      const alarmed = resources.filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties?.Namespace as string);
      expect(published.length).toBeGreaterThan(0);
      expect(new Set(published)).toEqual(new Set([stack]));
      expect(new Set(alarmed.filter((namespace) => !namespace.startsWith('AWS/')))).toEqual(new Set([stack]));
    }
  });

  it('refuse a stack name too long for its queue names, naming the limit', () => {
    expect(() => connectorQueueNames('X'.repeat(70), 'mirakl-acceptance')).toThrow(/stack name "X+" is too long: .*80 characters/);
  });
});
