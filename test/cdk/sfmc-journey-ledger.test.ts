/**
 * The SFMC connector in the stack may write its journey-entry markers to the `state` table with exactly the actions
 * the ledger uses (claim, read an earlier claim, mark, release), and the other marketing connectors may not.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../functions/shared/aws/tables';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { addMarketBridge } from '../../lib/marketbridge-app';
import { defaultPolicyStatements, logicalId } from '../support/cdk';


describe('SFMC journey-entry ledger permissions', () => {
  it('sfmc gets PutItem, GetItem and DeleteItem on the state table, with its name; klaviyo nothing there', () => {
    const config = parseConfig({
      ...sandboxConfigInput,
      connectors: {
        klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' },
        sfmc: { enabled: true, secretName: 'marketbridge/sfmc', subdomain: 'tenant' },
      },
    });
    const stack = addMarketBridge(new App(), config);
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
    const state = JSON.stringify({ 'Fn::GetAtt': [logicalId(stack.tables.state), 'Arn'] });
    const stateActions = (name: 'klaviyo' | 'sfmc') => {
      const fn = stack.marketing[name]!.function;
      const statements = defaultPolicyStatements(resources, fn.role);
      return statements.filter((s) => JSON.stringify(s.Resource) === state).flatMap((s) => [s.Action].flat()).sort();
    };
    expect(stateActions('sfmc')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(stateActions('klaviyo')).toEqual([]);
    const env = resources[logicalId(stack.marketing.sfmc!.function)]!.Properties.Environment.Variables;
    expect(env[TABLES.state.envVar]).toEqual({ Ref: logicalId(stack.tables.state) });
  }, 120_000);
});
