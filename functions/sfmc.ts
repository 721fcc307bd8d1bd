/** SFMC connector Lambda: business events from its SQS queue become data extension rows and journey entries. */
import { documentClient } from './shared/aws/clients';
import { DynamoExceptionRecorder } from './shared/aws/exceptionStore';
import { DynamoJourneyLedger } from './shared/aws/journeyLedger';
import { TABLES, tableName } from './shared/aws/tables';
import { connectorHandler } from './shared/connector/handler';
import { createSfmcConnector } from './shared/sfmc/connector';

export const handler = connectorHandler('sfmc', ({ config, http, secret }) => {
  const documents = documentClient();
  return createSfmcConnector({
    config,
    http,
    credentials: async () => ({ clientId: await secret('clientId'), clientSecret: await secret('clientSecret') }),
    journeys: new DynamoJourneyLedger(documents, tableName(TABLES.state)),
    exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions)),
  });
});
