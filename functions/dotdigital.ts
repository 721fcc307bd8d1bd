/**
 * Dotdigital connector Lambda: business events from its SQS queue become contacts and `orders` insight data; order
 * leases and pending programme enrolments live in the `state` table.
 */
import { DynamoEnrolmentStore } from './shared/aws/enrolmentStore';
import { DynamoLeaseStore } from './shared/aws/leaseStore';
import { TABLES, tableName } from './shared/aws/tables';
import { connectorHandler } from './shared/connector/handler';
import { DOTDIGITAL_TIMEOUT_MS, createDotdigitalConnector, dotdigitalRetryAfter } from './shared/dotdigital/connector';

export const handler = connectorHandler(
  'dotdigital',
  ({ config, http, secret, documents: client }) => {
    const state = tableName(TABLES.state);
    return createDotdigitalConnector({
      config,
      http,
      credentials: async () => ({ username: await secret('username'), password: await secret('password') }),
      enrolments: new DynamoEnrolmentStore(client, state),
      leases: new DynamoLeaseStore(client, state),
    });
  },
  { http: { timeoutMs: DOTDIGITAL_TIMEOUT_MS, retryAfter: dotdigitalRetryAfter } },
);
