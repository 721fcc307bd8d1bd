/**
 * Adds MarketBridge to a CDK app with the cdk-nag AwsSolutions checks registered, so the CLI entry point and the
 * tests synthesise exactly the same thing: an unacknowledged finding fails `app.synth()` in both.
 */
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Config } from '../functions/shared/config';
import { DEFAULT_STACK_NAME } from '../functions/shared/operations/queues';
import { MarketBridgeStack } from './marketbridge-stack';

/** `stackName` names the deployment: several, each with its own name, can share an account and region. */
export function addMarketBridge(app: App, config: Config, stackName: string = DEFAULT_STACK_NAME): MarketBridgeStack {
  const stack = new MarketBridgeStack(app, stackName, {
    config,
    description: 'MarketBridge: Mirakl marketplaces to marketing and commerce systems',
  });
  Tags.of(app).add('app', 'marketbridge');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
