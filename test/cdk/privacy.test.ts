/** The privacy consumer: every erasure event, from every marketplace, into its own queue; may query the inbox index. */
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { PrivacyEraser } from '../../lib/constructs/privacy';
import { MarketBridgeTables } from '../../lib/constructs/tables';

describe('PrivacyEraser', () => {
  it('routes erasures to its queue, queries only the inbox marketplace index, and passes cdk-nag', () => {
    const app = new App();
    const stack = new Stack(app, 'PrivacyTest');
    const config = parseConfig({ ...sandboxConfigInput, connectors: { klaviyo: { enabled: true, secretName: 'k', marketplaces: ['debenhams'] } } });
    const tables = new MarketBridgeTables(stack, 'Tables').tables;
    const privacy = new PrivacyEraser(stack, 'Privacy', { config, bus: new EventBus(stack, 'Bus'), tables });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['marketbridge.privacy'], 'detail-type': ['Customer Erasure Requested'] },
    });
    const fnRole = stack.getLogicalId(privacy.consumer.function.role!.node.defaultChild as CfnElement);
    const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(fnRole))!;
    const query = (policy.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[]).find((s) => s.Action === 'dynamodb:Query');
    expect(JSON.stringify(query?.Resource)).toContain('/index/byMarketplace');
    expect(JSON.stringify(policy)).not.toContain('secretsmanager');
  });
});
