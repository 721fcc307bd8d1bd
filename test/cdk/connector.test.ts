import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { eventPatternFor } from '../../functions/shared/routes';
import { BULK_BATCHING, MarketBridgeConnector } from '../../lib/constructs/connector';
import { MarketBridgeTables } from '../../lib/constructs/tables';
import { defaultPolicyStatements, logicalId } from '../support/cdk';


function configWith(klaviyo: Record<string, unknown>): Config {
  return parseConfig({
    ...sandboxConfigInput,
    connectors: { klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo', ...klaviyo } },
  });
}

/** A test stack holding just what a connector needs, checked by cdk-nag AwsSolutions like the real app. */
function build(config: Config) {
  const app = new App();
  const stack = new Stack(app, 'ConnectorTest');
  const bus = new EventBus(stack, 'Bus');
  const tables = new MarketBridgeTables(stack, 'Tables').tables;
  const connector = new MarketBridgeConnector(stack, 'Klaviyo', {
    config,
    connector: 'klaviyo',
    bus,
    tables,
    description: 'Klaviyo profiles and events',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, connector, bus, tables };
}

describe('MarketBridgeConnector (Klaviyo)', () => {
  let built: ReturnType<typeof build>;
  let template: Template;
  const config = configWith({ maxConcurrency: 7, marketplaces: ['debenhams'] });

  beforeAll(() => {
    built = build(config);
    // Throws on any unacknowledged cdk-nag finding.
    built.app.synth();
    template = Template.fromStack(built.stack);
  });

  it('queue: encrypted, visibility 6× the function timeout, DLQ after 5 receives; DLQ keeps messages longer', () => {
    const queue = template.toJSON().Resources[logicalId(built.connector.queue)].Properties;
    const dlq = template.toJSON().Resources[logicalId(built.connector.deadLetterQueue)].Properties;
    const fn = template.toJSON().Resources[logicalId(built.connector.function)].Properties;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(built.connector.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(dlq.MessageRetentionPeriod).toBeGreaterThan(queue.MessageRetentionPeriod);
  });

  it('both queues refuse non-TLS access', () => {
    for (const queue of [built.connector.queue, built.connector.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('event source: partial batch responses and the configured maximum concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(built.connector.queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 7 },
      BatchSize: 10,
    });
  });

  it('rule on the bus with the shared route pattern, delivering to the queue with a DLQ', () => {
    const pattern = eventPatternFor(config, 'klaviyo');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: logicalId(built.bus) },
      EventPattern: { source: pattern.source, 'detail-type': pattern['detail-type'], detail: { marketplace: ['debenhams'] } },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(built.connector.queue), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(built.connector.deadLetterQueue), 'Arn'] } },
        }),
      ],
    });
  });

  it('least privilege: its idempotency and exception tables, its own secret, its own queue', () => {
    const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const statements = defaultPolicyStatements(resources, built.connector.function.role);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.every((a) => !a.endsWith(':*') && a !== '*')).toBe(true);
    const dynamo = statements.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [logicalId(built.tables.idempotency), 'Arn'] },
      { 'Fn::GetAtt': [logicalId(built.tables.exceptions), 'Arn'] },
    ]);
    expect(dynamo.map((s) => s.Action)).toEqual([
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      'dynamodb:UpdateItem',
    ]);
    const secret = statements.find((s) => s.Action === 'secretsmanager:GetSecretValue');
    expect(JSON.stringify(secret?.Resource)).toContain(':secret:marketbridge/klaviyo-??????');
    const sqs = statements.filter((s) => JSON.stringify(s.Action).includes('sqs:'));
    expect(sqs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(built.connector.queue), 'Arn'] }]);
  });

  it('the function knows its tables and receive budget from the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          IDEMPOTENCY_TABLE_NAME: { Ref: logicalId(built.tables.idempotency) },
          EXCEPTIONS_TABLE_NAME: { Ref: logicalId(built.tables.exceptions) },
          CONNECTOR_MAX_RECEIVE_COUNT: '5',
          POWERTOOLS_SERVICE_NAME: 'klaviyo',
        }),
      },
    });
  });

  it('refuses to deploy a connector without a secret name', () => {
    expect(() => build(configWith({ secretName: undefined }))).toThrow(/connectors\.klaviyo\.secretName/);
  });

  it('takes a batching window for bulk-sized batches', () => {
    const app = new App();
    const stack = new Stack(app, 'Batching');
    const tables = new MarketBridgeTables(stack, 'Tables').tables;
    new MarketBridgeConnector(stack, 'Klaviyo', {
      config,
      connector: 'klaviyo',
      bus: new EventBus(stack, 'Bus'),
      tables,
      description: 'Klaviyo',
      ...BULK_BATCHING,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
    });
  });
});
