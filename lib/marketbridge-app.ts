/**
 * Adds MarketBridge to a CDK app with the cdk-nag AwsSolutions checks registered, so the CLI entry point and the
 * tests synthesise exactly the same thing: an unacknowledged finding fails `app.synth()` in both.
 */
import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Config } from '../functions/shared/config';
import { MarketBridgeStack } from './marketbridge-stack';

export const STACK_NAME = 'MarketBridge';

export function addMarketBridge(app: App, config: Config): MarketBridgeStack {
  const stack = new MarketBridgeStack(app, STACK_NAME, {
    config,
    description: 'MarketBridge: Mirakl marketplaces to marketing and commerce systems',
  });
  Tags.of(app).add('app', 'marketbridge');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
