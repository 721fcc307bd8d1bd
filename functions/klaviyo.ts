/** Klaviyo connector Lambda: business events from its SQS queue become Klaviyo profiles and events. */
import { connectorHandler } from './shared/connector/handler';
import { KLAVIYO_HTTP, createKlaviyoConnector } from './shared/klaviyo/connector';

export const handler = connectorHandler(
  'klaviyo',
  ({ config, http, secret }) => createKlaviyoConnector({ config, http, apiKey: () => secret('apiKey') }),
  { http: KLAVIYO_HTTP },
);
