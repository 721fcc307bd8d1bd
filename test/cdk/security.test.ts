/**
 * Security properties of the whole stack with EVERY connector enabled (marketing, SFCC and the Mirakl return path),
 * checked on the synthesised template rather than per construct, so a construct added later is held to the same
 * rules: least privilege per function (no wildcard actions; queues, tables, secrets and logs scoped to what the
 * function owns), encryption at rest, TLS-only queues, no secret values anywhere, cdk-nag AwsSolutions clean.
 */
import { App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../functions/shared/aws/tables';
import { CONNECTOR_NAMES, resolveConfig } from '../../functions/shared/config';
import { everyConnectorConfig } from '../../bench/pipeline';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Principal?: unknown };

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every connector on, as the benchmark deploys it. */
const everything = everyConnectorConfig;
const secretOf = (name: 'klaviyo' | 'dotdigital' | 'sfmc') => everything.connectors[name]!.secretName!;
const SECRETS = {
  klaviyo: secretOf('klaviyo'),
  dotdigital: secretOf('dotdigital'),
  sfmc: secretOf('sfmc'),
  sfcc: everything.sfcc!.secretName,
};

const miraklKeys = everything.marketplaces.map((mp) => mp.apiKeySecret);

/**
 * The secrets each function (by its Powertools service name) may read: its own, nothing else. A function missing
 * here fails the checks below until someone decides what it may read.
 */
const ALLOWED_SECRETS: Record<string, readonly string[]> = {
  poller: miraklKeys,
  webhook: [everything.webhook.secretName],
  klaviyo: [SECRETS.klaviyo],
  dotdigital: [SECRETS.dotdigital],
  sfmc: [SECRETS.sfmc],
  'sfcc-orders': [SECRETS.sfcc],
  // The return path calls Mirakl with each marketplace's key; acceptance and stock read SFCC available-to-sell.
  'mirakl-acceptance': [...miraklKeys, SECRETS.sfcc],
  'mirakl-stock': [...miraklKeys, SECRETS.sfcc],
  'mirakl-tracking': miraklKeys,
  'acceptance-watch': [],
  'sfcc-shipments': [SECRETS.sfcc],
  // Enrols the pending programme enrolments with the Dotdigital API user.
  'dotdigital-enrolments': [SECRETS.dotdigital],
  // History loads, reconciliation and the weekly report read orders from Mirakl.
  backfill: miraklKeys,
  reconcile: miraklKeys,
  'weekly-report': miraklKeys,
  // Erasure from our own tables: no outside system.
  privacy: [],
};

/** Actions AWS defines without resource-level permissions: `*` is the only resource they take. */
const NO_RESOURCE_LEVEL = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'cloudwatch:GetMetricData',
]);
/** Consuming a queue; only the queue feeding the function's event source mapping. */
const SQS_CONSUME = new Set(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']);
/** Reading a queue's depth or its redrive tasks (backpressure, reports): allowed on the stack's own queues. */
const SQS_READ = new Set(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ListMessageMoveTasks']);

describe('security of the stack with every connector enabled', () => {
  let app: App;
  let stack: MarketBridgeStack;
  let resources: Record<string, Resource>;

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const logicalIdOf = (construct: IConstruct) => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return element.stack.getLogicalId(element);
  };

  /** Each Lambda function with the statements of its role's policies, its environment and its own queue. */
  function functions() {
    return ofType('AWS::Lambda::Function').map(([id, fn]) => {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
      const queues = ofType('AWS::Lambda::EventSourceMapping')
        .filter(([, m]) => m.Properties.FunctionName.Ref === id)
        .map(([, m]) => m.Properties.EventSourceArn['Fn::GetAtt'][0] as string);
      const env = fn.Properties.Environment.Variables as Record<string, unknown>;
      return { id, service: env.POWERTOOLS_SERVICE_NAME as string, statements, queues, env, logGroup: fn.Properties.LoggingConfig.LogGroup.Ref };
    });
  }

  beforeAll(() => {
    app = new App();
    stack = addMarketBridge(app, everything);
    // cdk-nag runs inside synth: an unacknowledged AwsSolutions finding throws here.
    app.synth();
    resources = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
  }, 240_000);

  it('deploys a function for every connector, and knows what every function may read', () => {
    const services = functions().map((f) => f.service);
    for (const name of CONNECTOR_NAMES) expect(services).toContain(name);
    for (const service of services) expect(Object.keys(ALLOWED_SECRETS), `${service}: declare its secrets`).toContain(service);
  });

  it('grants no wildcard action anywhere; a `*` resource only for actions without resource-level permissions', () => {
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        expect(statement.Effect, id).toBe('Allow');
        for (const action of asList(statement.Action)) expect(action, id).not.toContain('*');
        if (asList(statement.Resource).includes('*')) {
          // CloudWatch GetMetricData (the weekly report's 429 figures) has no resource-level permissions either.
          const unscoped = (a: string) => a.startsWith('xray:') || a === 'cloudwatch:GetMetricData';
          expect(asList(statement.Action).every(unscoped), `${id}: ${JSON.stringify(statement.Action)}`).toBe(true);
        }
      }
    }
    for (const [id, role] of ofType('AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
  });

  it('scopes each function to its own queue, the tables it names, its own secrets and its own log group', () => {
    const tableIds = new Map(Object.entries(stack.tables).map(([key, table]) => [logicalIdOf(table), key as keyof typeof TABLES]));
    const idsOf = (type: string) => new Set(ofType(type).map(([id]) => id));
    const [queues, topics, keys] = [idsOf('AWS::SQS::Queue'), idsOf('AWS::SNS::Topic'), idsOf('AWS::KMS::Key')];
    // `{Fn::GetAtt: [id, 'Arn']}`, `{Ref: id}`, or an index ARN `{Fn::Join: ['', [{Fn::GetAtt: [id, 'Arn']}, '/index/name']]}`.
    const refOf = (resource: any): { id?: string; suffix?: string } => {
      if (resource?.['Fn::GetAtt']) return { id: resource['Fn::GetAtt'][0] };
      if (resource?.Ref) return { id: resource.Ref };
      const parts = resource?.['Fn::Join']?.[1];
      return Array.isArray(parts) && parts[0]?.['Fn::GetAtt'] ? { id: parts[0]['Fn::GetAtt'][0], suffix: parts.slice(1).join('') } : {};
    };
    const secretName = (resource: unknown) => /:secret:(.+)-\?{6}$/.exec(JSON.stringify(resource).replace(/"\]\]\}$/, ''))?.[1];
    for (const fn of functions()) {
      const granted = { consumed: new Set<string>(), tables: new Set<string>(), secrets: new Set<string>() };
      for (const statement of fn.statements) {
        const actions = asList(statement.Action);
        const service = actions[0]!.split(':')[0];
        const where = `${fn.service}: ${JSON.stringify(actions)}`;
        expect(actions.every((a) => a.startsWith(`${service}:`)), `${where}: one service per statement`).toBe(true);
        if (actions.every((a) => NO_RESOURCE_LEVEL.has(a))) continue;
        for (const resource of asList(statement.Resource)) {
          const { id, suffix } = refOf(resource);
          if (service === 'sqs') {
            expect(queues.has(id ?? ''), where).toBe(true);
            for (const action of actions) expect(SQS_CONSUME.has(action) || SQS_READ.has(action), where).toBe(true);
            if (actions.some((a) => SQS_CONSUME.has(a))) granted.consumed.add(id!);
          } else if (service === 'dynamodb') {
            const table = tableIds.get(id ?? '');
            expect(table, where).toBeDefined();
            granted.tables.add(TABLES[table!].envVar);
            if (suffix) {
              const indexes = ('indexes' in TABLES[table!] ? (TABLES[table!] as { indexes: { name: string }[] }).indexes : []).map((i) => `/index/${i.name}`);
              expect(indexes, where).toContain(suffix);
            }
          } else if (service === 'secretsmanager') {
            expect(actions, where).toEqual(['secretsmanager:GetSecretValue']);
            granted.secrets.add(secretName(resource) ?? JSON.stringify(resource));
          } else if (service === 'logs') expect(id, where).toBe(fn.logGroup);
          else if (service === 'events') expect([id, actions], where).toEqual([logicalIdOf(stack.bus), ['events:PutEvents']]);
          else if (service === 'sns') expect([topics.has(id ?? ''), actions], where).toEqual([true, ['sns:Publish']]);
          else if (service === 'kms') expect(keys.has(id ?? ''), where).toBe(true);
          else expect.fail(`${where}: a service this check does not know yet; review it and add its rule here`);
        }
      }
      // A function consumes only the queue that feeds it.
      expect([...granted.consumed], fn.service).toEqual(fn.queues);
      // Tables granted and tables named in the environment are the same set: nothing granted "just in case".
      const named = Object.keys(fn.env).filter((name) => name.endsWith('_TABLE_NAME'));
      expect([...granted.tables].sort(), fn.service).toEqual(named.sort());
      expect([...granted.secrets].sort(), fn.service).toEqual([...(ALLOWED_SECRETS[fn.service] ?? [])].sort());
    }
  });

  it('encrypts every queue and table at rest (and any topic)', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThanOrEqual(CONNECTOR_NAMES.length * 2);
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled === true || queue.Properties.KmsMasterKeyId !== undefined, id).toBe(true);
    }
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);
    for (const [id, table] of tables) expect(table.Properties.SSESpecification, id).toEqual({ SSEEnabled: true });
    expect(ofType('AWS::SNS::Topic').length).toBeGreaterThan(0);
    for (const [id, topic] of ofType('AWS::SNS::Topic')) expect(topic.Properties.KmsMasterKeyId, id).toBeDefined();
  });

  it('refuses non-TLS access to every queue', () => {
    const policies = ofType('AWS::SQS::QueuePolicy');
    for (const [id] of ofType('AWS::SQS::Queue')) {
      const statements = policies
        .filter(([, p]) => p.Properties.Queues.some((q: { Ref: string }) => q.Ref === id))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
      expect(statements, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('holds no secret value: secrets by name only, no credential-like variable or configuration field', () => {
    const json = JSON.stringify(resources);
    expect(json).not.toContain('resolve:secretsmanager');
    expect(json).not.toContain('SecretString');
    expect(ofType('AWS::SecretsManager::Secret')).toEqual([]);
    const credentialLike = /pass(word)?|api_?key$|token|client_?secret|private_?key/i;
    const fieldsOf = (value: unknown, path = ''): string[] =>
      value && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => [`${path}${k}`, ...fieldsOf(v, `${path}${k}.`)])
        : [];
    for (const fn of functions()) {
      for (const name of Object.keys(fn.env)) expect(name, fn.service).not.toMatch(credentialLike);
      const config = resolveConfig({ env: { MARKETBRIDGE_CONFIG: fn.env.MARKETBRIDGE_CONFIG as string } }) as unknown;
      // Names of secrets (`apiKeySecret`, `secretName`) are fine; a field holding a credential is not.
      for (const field of fieldsOf(config)) expect(field.split('.').pop(), fn.service).not.toMatch(credentialLike);
    }
  });

  it('passes cdk-nag AwsSolutions; every acknowledgement names an AwsSolutions rule and gives a reason', () => {
    const acknowledgements = app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
          // Keys read `Annotation::AwsSolutions-IAM5[Resource::*]`: the rule id, optionally with the finding it covers.
          .map(([key, reason]) => ({ path: construct.node.path, rule: key.replace(/^Annotation::/, ''), reason })),
      );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, rule, reason } of acknowledgements) {
      expect(rule, path).toMatch(/^AwsSolutions-/);
      expect(typeof reason === 'string' && reason.trim().length > 30, `${path} ${rule}`).toBe(true);
    }
    // Wildcard acknowledgements are each scoped to one finding: X-Ray's resource `*`, or one function's own
    // qualified ARNs (`<arn>:*`, which grantInvoke adds); never a blanket IAM5.
    for (const { path, rule, reason } of acknowledgements.filter((a) => a.rule.startsWith('AwsSolutions-IAM5'))) {
      if (rule === 'AwsSolutions-IAM5[Resource::*]') expect(reason, path).toMatch(/X-Ray/);
      else expect(rule, path).toMatch(/^AwsSolutions-IAM5\[Resource::<\w+\.Arn>:\*\]$/);
    }
  });
});
