/**
 * The embedded DynamoDB: dynalite on loopback with every table of TABLES created as the stack creates it, so the
 * handlers' real DynamoDB clients work unchanged through AWS_ENDPOINT_URL_DYNAMODB.
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import {
  CreateTableCommand,
  DynamoDBClient,
  type AttributeDefinition,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition } from '../../functions/shared/aws/tables';
import { closeServer, LOCAL_CREDENTIALS, LOCAL_REGION } from './protocol';

export interface LocalDynamo {
  endpoint: string;
  /** Table name per logical table, e.g. `{ state: 'marketbridge-state' }`. */
  tableNames: Record<keyof typeof TABLES, string>;
  close(): Promise<void>;
}

function keySchema(partitionKey: string, sortKey?: string): KeySchemaElement[] {
  const keys: KeySchemaElement[] = [{ AttributeName: partitionKey, KeyType: 'HASH' }];
  if (sortKey) keys.push({ AttributeName: sortKey, KeyType: 'RANGE' });
  return keys;
}

/** CreateTable input for a definition; every key attribute is a string in our schema. */
export function createTableInput(table: TableDefinition, name: string) {
  const attributes = new Set<string>([table.partitionKey]);
  if (table.sortKey) attributes.add(table.sortKey);
  const indexes: GlobalSecondaryIndex[] = (table.indexes ?? []).map((index) => {
    attributes.add(index.partitionKey);
    if (index.sortKey) attributes.add(index.sortKey);
    return {
      IndexName: index.name,
      KeySchema: keySchema(index.partitionKey, index.sortKey),
      Projection: { ProjectionType: 'ALL' },
    };
  });
  const definitions: AttributeDefinition[] = [...attributes].map((AttributeName) => ({
    AttributeName,
    AttributeType: 'S',
  }));
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    AttributeDefinitions: definitions,
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}

export async function startLocalDynamo(options: { tablePrefix?: string } = {}): Promise<LocalDynamo> {
  const prefix = options.tablePrefix ?? 'marketbridge-';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const tableNames = {} as Record<keyof typeof TABLES, string>;
  try {
    for (const [key, table] of Object.entries(TABLES) as [keyof typeof TABLES, TableDefinition][]) {
      tableNames[key] = `${prefix}${table.name}`;
      await client.send(new CreateTableCommand(createTableInput(table, tableNames[key])));
    }
  } catch (error) {
    await closeServer(server);
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, tableNames, close: () => closeServer(server) };
}
