/** The privacy consumer Lambda: erasure events from its queue, applied to our own tables (see shared/privacy). */
import { documentClient } from './shared/aws/clients';
import { TABLES, tableName } from './shared/aws/tables';
import { connectorHandler } from './shared/connector/handler';
import { DynamoOwnRecords } from './shared/privacy/ownRecords';
import { ownRecordsConnector } from './shared/privacy/ownRecordsConnector';

export const handler = connectorHandler('privacy', () =>
  ownRecordsConnector(new DynamoOwnRecords(documentClient(), tableName(TABLES.exceptions))),
);
