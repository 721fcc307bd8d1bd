/**
 * The DynamoDB tables and the environment variables that name them. The CDK stack creates tables from these
 * definitions and the local runtime creates the same tables in its embedded store.
 */
export interface TableDefinition {
  /** Logical name, used for the CDK construct id and the local table name. */
  name: string;
  envVar: string;
  partitionKey: string;
  sortKey?: string;
  timeToLiveAttribute?: string;
  indexes?: { name: string; partitionKey: string; sortKey?: string }[];
}

export const TABLES = {
  /**
   * Per-marketplace cursors, call-frequency slots, pending re-reads, order snapshots, order leases, pending
   * enrolments and journey-entry markers. Only the markers carry `expiration`: DynamoDB drops them once no redrive
   * can bring their event back; everything else lives until overwritten.
   */
  state: { name: 'state', envVar: 'STATE_TABLE_NAME', partitionKey: 'pk', timeToLiveAttribute: 'expiration' },
  /** SKU map, carrier map, identity links. */
  mappings: { name: 'mappings', envVar: 'MAPPINGS_TABLE_NAME', partitionKey: 'pk', sortKey: 'sk' },
  /** Powertools idempotency schema. */
  idempotency: {
    name: 'idempotency',
    envVar: 'IDEMPOTENCY_TABLE_NAME',
    partitionKey: 'id',
    timeToLiveAttribute: 'expiration',
  },
  /** The exception inbox. */
  exceptions: {
    name: 'exceptions',
    envVar: 'EXCEPTIONS_TABLE_NAME',
    partitionKey: 'id',
    indexes: [
      { name: 'byStatus', partitionKey: 'status', sortKey: 'lastSeen' },
      { name: 'byMarketplace', partitionKey: 'marketplace', sortKey: 'lastSeen' },
    ],
  },
} as const satisfies Record<string, TableDefinition>;

export const EVENT_BUS_ENV = 'EVENT_BUS_NAME';
export const CONFIG_ENV = 'MARKETBRIDGE_CONFIG';

/** Reads a required environment variable with an error that says which one is missing. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function tableName(table: TableDefinition, env: NodeJS.ProcessEnv = process.env): string {
  return requiredEnv(table.envVar, env);
}
