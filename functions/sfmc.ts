/** SFMC connector Lambda: business events from its SQS queue become data extension rows and journey entries. */
import { DynamoJourneyLedger } from './shared/aws/journeyLedger';
import { TABLES, tableName } from './shared/aws/tables';
import { connectorHandler } from './shared/connector/handler';
import { createSfmcConnector } from './shared/sfmc/connector';

export const handler = connectorHandler('sfmc', ({ config, http, secret, documents, exceptions }) =>
  createSfmcConnector({
    config,
    http,
    credentials: async () => ({ clientId: await secret('clientId'), clientSecret: await secret('clientSecret') }),
    journeys: new DynamoJourneyLedger(documents, tableName(TABLES.state)),
    exceptions,
  }),
);
