/**
 * The sfcc-orders connector in the MarketBridge stack: deployed only when enabled, on the shared connector construct,
 * with the SFCC secret, read access to the SKU map by batch get only, its order leases in the state table (exact
 * actions), and cdk-nag AwsSolutions clean.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { sandboxConfig } from '../../functions/shared/config';
import { eventPatternFor } from '../../functions/shared/routes';
import { addMarketBridge } from '../../lib/marketbridge-app';
import type { MarketBridgeStack } from '../../lib/marketbridge-stack';
import { SFCC_SECRET, sfccConfig } from '../support/sfccFixtures';
import { defaultPolicyStatements, logicalId } from '../support/cdk';


describe('sfcc-orders in the stack', () => {
  const config = sfccConfig('https://unused.example');
  let stack: MarketBridgeStack;
  let template: Template;

  beforeAll(() => {
    const app = new App();
    // addMarketBridge applies cdk-nag AwsSolutions; synthesis throws on any unacknowledged finding.
    stack = addMarketBridge(app, config);
    app.synth();
    template = Template.fromStack(stack);
  }, 120_000);

  it('is absent unless enabled', () => {
    const app = new App();
    expect(addMarketBridge(app, sandboxConfig).sfccOrders).toBeUndefined();
  });

  it('consumes confirmed, cancelled and refunded orders from the bus, with partial batch failures', () => {
    const connector = stack.sfccOrders!.connector;
    const pattern = eventPatternFor(config, 'sfcc-orders');
    expect(pattern['detail-type']).toEqual(['Order Confirmed', 'Order Cancelled', 'Order Refunded']);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: pattern.source, 'detail-type': pattern['detail-type'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(connector.queue), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(connector.queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('may read the SFCC secret, batch-get the mappings table and take order leases in state, nothing broader', () => {
    const connector = stack.sfccOrders!.connector;
    const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
    const statements = defaultPolicyStatements(resources, connector.function.role);
    const text = JSON.stringify(statements);
    expect(text).toContain(`:secret:${SFCC_SECRET}-??????`);
    const mappings = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.tables.mappings)));
    expect(mappings?.Action).toBe('dynamodb:BatchGetItem');
    const state = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.tables.state)));
    expect(state?.Action).toEqual(['dynamodb:PutItem', 'dynamodb:DeleteItem']);
    expect(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).every((a) => !a.endsWith(':*'))).toBe(true);
    const env = resources[logicalId(connector.function)]!.Properties.Environment.Variables;
    expect(env.MAPPINGS_TABLE_NAME).toEqual({ Ref: logicalId(stack.tables.mappings) });
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('sfcc-orders');
  });
});
