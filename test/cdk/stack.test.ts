import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../functions/shared/aws/tables';
import { type Config, type ConfigInput, ConfigError, parseConfig, resolveConfig, sandboxConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { MarketBridgeFunction } from '../../lib/constructs/function';
import { everyConnectorConfig } from '../../bench/pipeline';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { defaultPolicyStatements, logicalId, type PolicyStatement } from '../support/cdk';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };

function build(config: Config) {
  const app = new App();
  const stack = addMarketBridge(app, config);
  return { app, stack };
}

function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** A second deployment shape: different intervals and an external-partner persona (15-minute floor). */
const customInput: ConfigInput = {
  ...sandboxConfigInput,
  marketplaces: [
    { ...sandboxConfigInput.marketplaces[0]!, poll: { intervalMinutes: 5 } },
    { ...sandboxConfigInput.marketplaces[1]!, persona: 'external-partner', poll: { intervalMinutes: 20 } },
    {
      ...sandboxConfigInput.marketplaces[0]!,
      id: 'mirakl-three',
      name: 'Third',
      apiKeySecret: 'marketbridge/mirakl/three',
      poll: { intervalMinutes: 1 },
    },
  ],
};

describe('MarketBridge stack (sandbox configuration)', () => {
  let stack: MarketBridgeStack;
  let template: Template;
  let resources: Record<string, Resource>;

  beforeAll(() => {
    ({ stack } = build(sandboxConfig));
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources as Record<string, Resource>;
  });

  function policyStatementsOf(roleConstruct: IConstruct): PolicyStatement[] {
    return defaultPolicyStatements(resources, roleConstruct);
  }

  it('has the expected resources', () => {
    const markets = sandboxConfig.marketplaces.length;
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Archive', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', Object.keys(TABLES).length);
    // Poller, webhook, reconcile, weekly report, the history-load slices and the privacy consumer.
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', markets * 2);
    // The poller's DLQ; the privacy consumer's queue and DLQ.
    template.resourceCountIs('AWS::SQS::Queue', 3);
    template.resourceCountIs('AWS::Logs::LogGroup', 6);
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('has one custom bus, archived for replay', () => {
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.bus), 'Arn'] },
      RetentionDays: Match.anyValue(),
      EventPattern: { account: [{ Ref: 'AWS::AccountId' }] },
    });
  });

  it('creates every table from its shared definition', () => {
    for (const key of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
      const definition = TABLES[key];
      const table = resources[logicalId(stack.tables[key])]!;
      const props = table.Properties;
      const keySchema: { AttributeName: string; KeyType: string }[] = [
        { AttributeName: definition.partitionKey, KeyType: 'HASH' },
      ];
      if ('sortKey' in definition) keySchema.push({ AttributeName: definition.sortKey, KeyType: 'RANGE' });
      expect(props.KeySchema, key).toEqual(keySchema);
      expect(props.BillingMode, key).toBe('PAY_PER_REQUEST');
      expect(props.PointInTimeRecoverySpecification, key).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.SSESpecification, key).toEqual({ SSEEnabled: true });
      expect(props.TimeToLiveSpecification, key).toEqual(
        'timeToLiveAttribute' in definition ? { AttributeName: definition.timeToLiveAttribute, Enabled: true } : undefined,
      );
      const indexes = 'indexes' in definition ? definition.indexes : [];
      expect(props.GlobalSecondaryIndexes ?? [], key).toEqual(
        indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      );
      // Business data survives stack deletion; idempotency records are disposable.
      expect(table.DeletionPolicy, key).toBe(key === 'idempotency' ? 'Delete' : 'Retain');
    }
  });

  it('schedules a poll at the configured rate and a daily sweep per marketplace, with retries and a DLQ', () => {
    const dlq = { 'Fn::GetAtt': [logicalId(stack.poller.deadLetterQueue), 'Arn'] };
    const poller = { 'Fn::GetAtt': [logicalId(stack.poller.function), 'Arn'] };
    for (const mp of sandboxConfig.marketplaces) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 minute)',
        Target: Match.objectLike({
          Arn: poller,
          Input: JSON.stringify({ marketplace: mp.id, mode: 'poll' }),
          DeadLetterConfig: { Arn: dlq },
          RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: 60 },
        }),
      });
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: Match.stringLikeRegexp('^cron\\(\\d+ \\d+ \\* \\* \\? \\*\\)$'),
        Target: Match.objectLike({
          Arn: poller,
          Input: JSON.stringify({ marketplace: mp.id, mode: 'sweep' }),
          DeadLetterConfig: { Arn: dlq },
        }),
      });
    }
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('exposes only the webhook through a Function URL with auth NONE (HMAC is checked in code)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack.webhook.function), 'Arn'] },
    });
    // Public invoke permissions exist for the webhook's URL and nothing else.
    const publicPermissions = Object.values(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: '*' } }));
    expect(publicPermissions.length).toBeGreaterThan(0);
    for (const permission of publicPermissions as Resource[]) {
      expect(permission.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [logicalId(stack.webhook.function), 'Arn'] });
      expect(permission.Properties.FunctionUrlAuthType ?? permission.Properties.InvokedViaFunctionUrl).toBeTruthy();
    }
    // No reservation by default: on an account with the default quota of 10 it would fail the deployment.
    const webhook = resources[logicalId(stack.webhook.function)]!.Properties;
    expect(webhook.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('runs every function on nodejs22.x / arm64 with tracing, log retention and the Powertools environment', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    for (const [id, fn] of Object.entries(functions) as [string, Resource][]) {
      const props = fn.Properties;
      expect(props.Runtime, id).toBe('nodejs22.x');
      expect(props.Architectures, id).toEqual(['arm64']);
      expect(props.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(props.Handler, id).toBe('index.handler');
      const logGroup = resources[props.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties.RetentionInDays, id).toBeGreaterThan(0);
      const env = props.Environment.Variables;
      expect(env.POWERTOOLS_SERVICE_NAME, id).toMatch(/^(poller|webhook|backfill|privacy|reconcile|weekly-report)$/);
      expect(env.POWERTOOLS_METRICS_NAMESPACE, id).toBe('MarketBridge');
      // Everything but the deploy-time `operations` block (alarm thresholds, subscribers), which no function reads.
      expect(resolveConfig({ env: { MARKETBRIDGE_CONFIG: env.MARKETBRIDGE_CONFIG } }), id).toEqual(
        parseConfig(JSON.parse(JSON.stringify({ ...sandboxConfig, operations: undefined }))),
      );
    }
  });

  it('names in each function\'s environment exactly the tables and bus it is granted', () => {
    const environmentOf = (fn: IConstruct) => resources[logicalId(fn)]!.Properties.Environment.Variables;
    const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
    const named = (env: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(env).filter(([name]) => name.endsWith('_TABLE_NAME') || name === 'EVENT_BUS_NAME'));
    expect(named(environmentOf(stack.poller.function))).toEqual({
      [TABLES.state.envVar]: ref(stack.tables.state),
      [TABLES.exceptions.envVar]: ref(stack.tables.exceptions),
      EVENT_BUS_NAME: ref(stack.bus),
    });
    expect(named(environmentOf(stack.webhook.function))).toEqual({
      [TABLES.state.envVar]: ref(stack.tables.state),
      EVENT_BUS_NAME: ref(stack.bus),
    });
  });

  it('grants no wildcard actions and only resources the function uses', () => {
    const secretArn = (name: string) => ({
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:secret:${name}-??????`],
      ],
    });
    const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });
    const keySecrets = sandboxConfig.marketplaces.map((mp) => secretArn(mp.apiKeySecret));
    const ingest = [
      { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
      {
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: arnOf(stack.tables.state),
      },
      { Action: ['dynamodb:UpdateItem', 'dynamodb:PutItem'], Resource: arnOf(stack.tables.exceptions) },
      { Action: 'events:PutEvents', Resource: arnOf(stack.bus) },
      ...keySecrets.map((Resource) => ({ Action: 'secretsmanager:GetSecretValue', Resource })),
    ];
    const logs = (fn: MarketBridgeFunction) => ({
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: arnOf(fn.logGroup),
    });
    const allow = (statements: object[]) => statements.map((s) => ({ Effect: 'Allow', ...s }));

    const poller = stack.poller.function;
    const webhook = stack.webhook.function;
    expect(policyStatementsOf(poller.role!)).toEqual(
      expect.arrayContaining(allow([...ingest, logs(poller)])),
    );
    expect(policyStatementsOf(poller.role!)).toHaveLength(ingest.length + 1);
    // The webhook queues order ids for the poller and publishes SFCC callbacks: no inbox, no Mirakl keys.
    const webhookStatements = allow([
      ingest[0]!,
      logs(webhook),
      { Action: 'dynamodb:UpdateItem', Resource: arnOf(stack.tables.state) },
      { Action: 'events:PutEvents', Resource: arnOf(stack.bus) },
      { Action: 'secretsmanager:GetSecretValue', Resource: secretArn(sandboxConfig.webhook.secretName) },
    ]);
    expect(policyStatementsOf(webhook.role!)).toEqual(expect.arrayContaining(webhookStatements));
    expect(policyStatementsOf(webhook.role!)).toHaveLength(webhookStatements.length);

    const schedulerRole = stack.poller.node.findChild('SchedulerRole');
    expect(policyStatementsOf(schedulerRole)).toEqual(
      allow([
        { Action: 'lambda:InvokeFunction', Resource: [arnOf(poller), { 'Fn::Join': ['', [arnOf(poller), ':*']] }] },
        { Action: 'sqs:SendMessage', Resource: arnOf(stack.poller.deadLetterQueue) },
      ]),
    );

    // Across the whole template: no `*` in any action, `*` resources only for what supports no resource-level
    // permissions (X-Ray; CloudWatch GetMetricData for the weekly report), no managed policies.
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]) {
      for (const statement of policy.Properties.PolicyDocument.Statement as PolicyStatement[]) {
        for (const action of asList(statement.Action)) expect(action).not.toContain('*');
        if (asList(statement.Resource).includes('*')) {
          expect(asList(statement.Action).every((action) => action.startsWith('xray:') || action === 'cloudwatch:GetMetricData')).toBe(true);
        }
      }
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as Resource[]) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('references secrets by name only, never their values', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('resolve:secretsmanager');
    expect(json).not.toContain('SecretString');
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('outputs the webhook URL, the bus name and every table name', () => {
    template.hasOutput('WebhookUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionUrl'] } });
    template.hasOutput('EventBusName', { Value: { Ref: logicalId(stack.bus) } });
    for (const key of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
      const outputs = template.findOutputs('*', { Value: { Ref: logicalId(stack.tables[key]) } });
      expect(Object.keys(outputs), key).toHaveLength(1);
    }
  });
});

describe('MarketBridge stack (custom configuration)', () => {
  it('schedules each marketplace at its own configured rate', () => {
    const config = parseConfig(customInput);
    const { stack } = build(config);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Scheduler::Schedule', config.marketplaces.length * 2);
    const expected: Record<string, string> = {
      debenhams: 'rate(5 minutes)',
      decathlon: 'rate(20 minutes)',
      'mirakl-three': 'rate(1 minute)',
    };
    for (const [marketplace, rate] of Object.entries(expected)) {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: rate,
        Target: Match.objectLike({ Input: JSON.stringify({ marketplace, mode: 'poll' }) }),
      });
    }
    // Each configured key secret is readable; nothing else in Secrets Manager.
    const statements = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    for (const mp of config.marketplaces) expect(statements).toContain(`:secret:${mp.apiKeySecret}-??????`);
  });

  it('rejects a poll interval faster than Mirakl allows, in the schema and again in the construct', () => {
    const tooFast: ConfigInput = {
      ...customInput,
      marketplaces: [{ ...sandboxConfigInput.marketplaces[1]!, persona: 'external-partner', poll: { intervalMinutes: 5 } }],
    };
    expect(() => parseConfig(tooFast)).toThrow(ConfigError);
    expect(() => parseConfig(tooFast)).toThrow(/marketplaces\.0\.poll\.intervalMinutes/);

    // A Config that never went through the schema (hand-built or edited after parsing) is caught at synthesis.
    const edited = structuredClone(sandboxConfig);
    edited.marketplaces[0]!.poll.intervalMinutes = 0;
    expect(() => build(edited)).toThrow(/"debenhams": poll\.intervalMinutes is 0, but Mirakl allows OR11 at most every 1 minute/);
    const partner = structuredClone(sandboxConfig);
    partner.marketplaces[1] = { ...partner.marketplaces[1]!, persona: 'external-partner' };
    expect(() => build(partner)).toThrow(/"decathlon": poll\.intervalMinutes is 1, .*every 15 minute\(s\) for persona "external-partner"/);
  });

  it('ships the configuration compressed, and still refuses one too large for the Lambda environment', () => {
    // Names that do not compress: the guard is about what really reaches the environment.
    const noise = () => randomBytes(24).toString('hex');
    const many = parseConfig({
      ...sandboxConfigInput,
      marketplaces: Array.from({ length: 60 }, (_, i) => ({
        ...sandboxConfigInput.marketplaces[0]!,
        id: `market-${i}`,
        name: noise(),
        apiKeySecret: `marketbridge/mirakl/${noise()}`,
        relayEmail: { patterns: [`*@${noise()}.example`], policy: 'never' },
      })),
    });
    const { app } = build(many);
    expect(() => app.synth()).toThrow(/over Lambda's 4096-byte limit/);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('synthesises with no unacknowledged finding, and every acknowledgement has a reason', () => {
    const { app } = build(sandboxConfig);
    expect(() => app.synth()).not.toThrow();

    const acknowledgements = app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.trim().length, id).toBeGreaterThan(30);
    }
  });

  it('fails synthesis on a finding nobody acknowledged', () => {
    const { app, stack } = build(sandboxConfig);
    new Queue(stack, 'UnguardedQueue');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3[\s\S]*MarketBridge\/UnguardedQueue/);
  });

  it('writes a bundled ESM asset with the createRequire banner and a source map', () => {
    const { app, stack } = build(sandboxConfig);
    const assembly = app.synth();
    for (const fn of [stack.poller.function, stack.webhook.function]) {
      const code = (fn.node.defaultChild as CfnFunction).code as CfnFunction.CodeProperty;
      const assetDir = join(assembly.directory, `asset.${code.s3Key!.replace(/\.zip$/, '')}`);
      expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);")).toBe(true);
    }
  });
});

describe('a full deployment', () => {
  it('every connector and five marketplaces synthesise within the Lambda environment limit', () => {
    const five = parseConfig({
      ...everyConnectorConfig,
      marketplaces: ['debenhams', 'decathlon', 'harrods', 'boulanger', 'fnac'].map((id, i) => ({
        ...everyConnectorConfig.marketplaces[i % 2]!,
        id,
        name: id,
        apiKeySecret: `marketbridge/mirakl/${id}`,
      })),
    });
    const { app } = build(five);
    expect(() => app.synth()).not.toThrow();
  });
});
