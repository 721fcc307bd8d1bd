/**
 * The webhook endpoint: a Lambda Function URL for pushed notifications (Mirakl operator webhooks, Mirakl Connect,
 * SFCC callbacks). The URL itself is public; the function authenticates every request with an HMAC-SHA256
 * signature over timestamp + raw body, keyed by the webhook secret, before anything else runs.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { MarketBridgeFunction } from './function';

export interface WebhookEndpointProps {
  readonly config: Config;
  readonly stateTable: ITable;
  readonly webhookSecret: ISecret;
  /** SFCC callbacks (shipments, stock) become SFCC business events on this bus. */
  readonly bus: IEventBus;
}

export class WebhookEndpoint extends Construct {
  readonly function: MarketBridgeFunction;
  readonly url: FunctionUrl;

  constructor(scope: Construct, id: string, props: WebhookEndpointProps) {
    super(scope, id);
    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/webhook.ts',
      serviceName: 'webhook',
      description: 'Authenticates pushed notifications (HMAC) and publishes the resulting business facts',
      config: props.config,
      timeout: Duration.seconds(30),
      memorySize: 256,
      // Optional cap on what unauthenticated callers can make the account run; senders retry throttled calls.
      ...(props.config.webhook.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.config.webhook.reservedConcurrency }),
    });
    // Mirakl notifications only queue order ids for the poller, which re-reads them through OR11 within the
    // call-frequency contract; SFCC callbacks are published to the bus. No exception inbox, no Mirakl keys on
    // the internet-facing function.
    this.function.grantTable(TABLES.state, props.stateTable, ['UpdateItem']);
    this.function.grantPublish(props.bus);
    this.function.grantSecretValue(props.webhookSecret);

    // Mirakl, Mirakl Connect and SFCC cannot sign requests with AWS SigV4; the handler checks the HMAC instead.
    this.url = this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }
}
