/**
 * The DynamoDB tables, created from the shared TABLES definitions (the local runtime creates the same ones), so
 * key names, TTL attributes and indexes are stated once.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableDefinition } from '../../functions/shared/aws/tables';

export type TableKey = keyof typeof TABLES;

/** Idempotency records are re-creatable and expire by TTL; every other table holds business state. */
const DISPOSABLE_TABLES: ReadonlySet<TableKey> = new Set(['idempotency']);

export class MarketBridgeTables extends Construct {
  readonly tables: Readonly<Record<TableKey, Table>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const entries = (Object.keys(TABLES) as TableKey[]).map((key) => [key, this.createTable(key, TABLES[key])]);
    this.tables = Object.fromEntries(entries) as Record<TableKey, Table>;
  }

  private createTable(key: TableKey, definition: TableDefinition): Table {
    const table = new Table(this, definition.name, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      sortKey: definition.sortKey ? { name: definition.sortKey, type: AttributeType.STRING } : undefined,
      timeToLiveAttribute: definition.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: DISPOSABLE_TABLES.has(key) ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    for (const index of definition.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: index.sortKey ? { name: index.sortKey, type: AttributeType.STRING } : undefined,
      });
    }
    return table;
  }
}
