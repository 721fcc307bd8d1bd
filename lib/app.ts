/**
 * CDK entry point (cdk.json). The configuration file comes from `-c config=path/to/marketbridge.config.json`
 * or MARKETBRIDGE_CONFIG_FILE; without either, the built-in sandbox configuration is used. The stack is named by
 * `-c stack=NAME` (default MarketBridge): each name is its own deployment, with its own queues, in one account.
 */
import { App } from 'aws-cdk-lib';
import { type Config, ConfigError, loadConfigFile, sandboxConfig } from '../functions/shared/config';
import { addMarketBridge } from './marketbridge-app';

const app = new App();
const file = (app.node.tryGetContext('config') as string | undefined) ?? process.env.MARKETBRIDGE_CONFIG_FILE;
// stderr: stdout belongs to the CLI.
process.stderr.write(
  file
    ? `MarketBridge: configuration from ${file}\n`
    : 'MarketBridge: built-in sandbox configuration (pass -c config=FILE or MARKETBRIDGE_CONFIG_FILE to deploy yours)\n',
);
let config: Config;
try {
  config = file ? loadConfigFile(file) : sandboxConfig;
} catch (error) {
  // The message names every bad field and value; a stack trace would only bury it.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
addMarketBridge(app, config, app.node.tryGetContext('stack') as string | undefined);
app.synth();
