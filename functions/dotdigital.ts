/** Dotdigital connector Lambda: business events from its SQS queue become contacts and `orders` insight data. */
import { connectorHandler } from './shared/connector/handler';
import { DOTDIGITAL_TIMEOUT_MS, createDotdigitalConnector, dotdigitalRetryAfter } from './shared/dotdigital/connector';

export const handler = connectorHandler(
  'dotdigital',
  ({ config, http, secret }) =>
    createDotdigitalConnector({
      config,
      http,
      credentials: async () => ({ username: await secret('username'), password: await secret('password') }),
    }),
  { http: { timeoutMs: DOTDIGITAL_TIMEOUT_MS, retryAfter: dotdigitalRetryAfter } },
);
