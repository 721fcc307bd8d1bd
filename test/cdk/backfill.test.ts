/**
 * The history-load job: a state machine looping over the backfill function (wait while the export is pending,
 * again while the load is unfinished, succeed when done), least-privilege grants, and cdk-nag AwsSolutions clean.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { BackfillJob } from '../../lib/constructs/backfill';
import { BULK_BATCHING, MarketBridgeConnector } from '../../lib/constructs/connector';
import { MarketBridgeTables } from '../../lib/constructs/tables';
import { logicalId, type PolicyStatement } from '../support/cdk';

const config = parseConfig({
  ...sandboxConfigInput,
  connectors: { klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo', maxConcurrency: 3 } },
});

function build() {
  const app = new App();
  const stack = new Stack(app, 'BackfillTest');
  const bus = new EventBus(stack, 'Bus');
  const tables = new MarketBridgeTables(stack, 'Tables').tables;
  const klaviyo = new MarketBridgeConnector(stack, 'Klaviyo', { config, connector: 'klaviyo', bus, tables, description: 'Klaviyo', ...BULK_BATCHING });
  const secrets = Object.fromEntries(config.marketplaces.map((mp) => [mp.id, Secret.fromSecretNameV2(stack, `Key-${mp.id}`, mp.apiKeySecret)]));
  const job = new BackfillJob(stack, 'Backfill', {
    config,
    bus,
    tables,
    marketplaceSecrets: secrets,
    queues: { klaviyo: { queue: klaviyo.queue, batchSize: BULK_BATCHING.batchSize, maxConcurrency: 3 } },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, job, klaviyo, tables };
}

describe('BackfillJob', () => {
  let built: ReturnType<typeof build>;
  let resources: Record<string, { Type: string; Properties: Record<string, any> }>;

  beforeAll(() => {
    built = build();
    // Throws on any unacknowledged cdk-nag finding.
    built.app.synth();
    resources = Template.fromStack(built.stack).toJSON().Resources;
  });

  it('loops slice → wait while the export is pending → slice, and succeeds when the load is done', () => {
    const machine = resources[logicalId(built.job.stateMachine)]!.Properties;
    const definition = JSON.parse(
      (machine.DefinitionString['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'ARN')).join(''),
    ) as { StartAt: string; States: Record<string, any> };
    expect(definition.StartAt).toBe('LoadSlice');
    expect(definition.States.LoadSlice).toMatchObject({ Next: 'LoadDone', InputPath: '$.request', ResultPath: '$.slice' });
    expect(definition.States.LoadDone.Choices).toEqual([
      { Variable: '$.slice.status', StringEquals: 'done', Next: 'Loaded' },
      { Variable: '$.slice.status', StringEquals: 'waiting', Next: 'WaitForExport' },
    ]);
    expect(definition.States.LoadDone.Default).toBe('LoadSlice');
    expect(definition.States.WaitForExport).toEqual({ Type: 'Wait', SecondsPath: '$.slice.waitSeconds', Next: 'LoadSlice' });
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('gives the function its tables, bus, Mirakl keys and the depth of the queues it feeds, nothing else', () => {
    const fn = resources[logicalId(built.job.function)]!.Properties;
    expect(fn.Timeout).toBe(900);
    const queues = JSON.stringify(fn.Environment.Variables.BACKFILL_QUEUES);
    expect(queues).toContain('"highWater\\":6000');
    const policy = Object.values(resources).find(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(logicalId(built.job.function.role!)),
    )!;
    const statements = policy.Properties.PolicyDocument.Statement as PolicyStatement[];
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.sort()).toEqual(
      [
        'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:UpdateItem',
        'events:PutEvents', 'logs:CreateLogStream', 'logs:PutLogEvents', 'secretsmanager:GetSecretValue',
        'secretsmanager:GetSecretValue', 'sqs:GetQueueAttributes', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments',
      ].sort(),
    );
    const sqs = statements.find((s) => s.Action === 'sqs:GetQueueAttributes')!;
    expect(sqs.Resource).toEqual({ 'Fn::GetAtt': [logicalId(built.klaviyo.queue), 'Arn'] });
  });
});
