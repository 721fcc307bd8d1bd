/** The privacy consumer Lambda: erasure events from its queue, applied to our own tables (see shared/privacy). */
import { TABLES, tableName } from './shared/aws/tables';
import { connectorHandler } from './shared/connector/handler';
import { DynamoOwnRecords } from './shared/privacy/ownRecords';
import { ownRecordsConnector } from './shared/privacy/ownRecordsConnector';

export const handler = connectorHandler('privacy', ({ documents }) =>
  ownRecordsConnector(new DynamoOwnRecords(documents, tableName(TABLES.exceptions))),
);
