/**
 * The Dotdigital and SFMC connectors deployed with the shared connector construct, side by side in one stack
 * checked by cdk-nag AwsSolutions: each its own queue, DLQ, rule, throttle and secret, and nothing of the other's.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { eventPatternFor } from '../../functions/shared/routes';
import { MarketBridgeConnector } from '../../lib/constructs/connector';
import { MarketBridgeTables } from '../../lib/constructs/tables';
import { defaultPolicyStatements, logicalId } from '../support/cdk';


const config = parseConfig({
  ...sandboxConfigInput,
  connectors: {
    dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 4001, maxConcurrency: 3 },
    sfmc: { enabled: true, secretName: 'marketbridge/sfmc', subdomain: 'mc-tenant', maxConcurrency: 4, marketplaces: ['debenhams'] },
  },
});

describe('Dotdigital and SFMC connector constructs', () => {
  let stack: Stack;
  let template: Template;
  let bus: EventBus;
  let built: Record<'dotdigital' | 'sfmc', MarketBridgeConnector>;

  beforeAll(() => {
    const app = new App();
    stack = new Stack(app, 'DotdigitalSfmc');
    bus = new EventBus(stack, 'Bus');
    const tables = new MarketBridgeTables(stack, 'Tables').tables;
    // Import status polling and Dotdigital's slow answers need more than the default minute.
    const timeout = Duration.seconds(120);
    built = {
      dotdigital: new MarketBridgeConnector(stack, 'Dotdigital', { config, connector: 'dotdigital', bus, tables, description: 'Dotdigital contacts and orders insight data', timeout }),
      sfmc: new MarketBridgeConnector(stack, 'Sfmc', { config, connector: 'sfmc', bus, tables, description: 'SFMC data extensions and journeys', timeout }),
    };
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    // Throws on any unacknowledged cdk-nag finding.
    app.synth();
    template = Template.fromStack(stack);
  }, 120_000);

  it('each: encrypted queue with visibility ≥ 6× the function timeout, DLQ after 5 receives, longer DLQ retention', () => {
    const resources = template.toJSON().Resources;
    for (const connector of Object.values(built)) {
      const queue = resources[logicalId(connector.queue)].Properties;
      const dlq = resources[logicalId(connector.deadLetterQueue)].Properties;
      const fn = resources[logicalId(connector.function)].Properties;
      expect(fn.Timeout).toBe(120);
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
      expect(queue.SqsManagedSseEnabled).toBe(true);
      expect(queue.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
      expect(dlq.MessageRetentionPeriod).toBeGreaterThan(queue.MessageRetentionPeriod);
    }
  });

  it('each: partial batch responses and its own maximum concurrency (the per-destination throttle)', () => {
    for (const [name, concurrency] of [['dotdigital', 3], ['sfmc', 4]] as const) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(built[name].queue), 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: concurrency },
      });
    }
  });

  it('each: a rule with the shared route pattern (SFMC limited to its marketplaces) targeting its own queue', () => {
    for (const name of ['dotdigital', 'sfmc'] as const) {
      const pattern = eventPatternFor(config, name);
      template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: logicalId(bus) },
        EventPattern: { source: pattern.source, 'detail-type': pattern['detail-type'], ...(pattern.detail ? { detail: pattern.detail } : {}) },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(built[name].queue), 'Arn'] } })],
      });
    }
    expect(eventPatternFor(config, 'sfmc').detail).toEqual({ marketplace: ['debenhams'] });
  });

  it('each: its own handler, its own secret and queue only, never the other connector\'s', () => {
    const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
    for (const [name, other] of [['dotdigital', 'sfmc'], ['sfmc', 'dotdigital']] as const) {
      const connector = built[name];
      const statements = defaultPolicyStatements(resources, connector.function.role);
      const text = JSON.stringify(statements);
      expect(text).toContain(`:secret:marketbridge/${name}-??????`);
      expect(text).not.toContain(`marketbridge/${other}`);
      expect(text).not.toContain(logicalId(built[other].queue));
      expect(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).every((a) => !a.endsWith(':*'))).toBe(true);
      expect(resources[logicalId(connector.function)]!.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe(name);
    }
  });
});
