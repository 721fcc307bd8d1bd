/**
 * CDK entry point (cdk.json). The configuration file comes from `-c config=path/to/marketbridge.config.json`
 * or MARKETBRIDGE_CONFIG_FILE; without either, the built-in sandbox configuration is used.
 */
import { App } from 'aws-cdk-lib';
import { loadConfigFile, sandboxConfig } from '../functions/shared/config';
import { addMarketBridge } from './marketbridge-app';

const app = new App();
const file = (app.node.tryGetContext('config') as string | undefined) ?? process.env.MARKETBRIDGE_CONFIG_FILE;
// stderr: stdout belongs to the CLI.
process.stderr.write(
  file
    ? `MarketBridge: configuration from ${file}\n`
    : 'MarketBridge: built-in sandbox configuration (pass -c config=FILE or MARKETBRIDGE_CONFIG_FILE to deploy yours)\n',
);
addMarketBridge(app, file ? loadConfigFile(file) : sandboxConfig);
app.synth();
