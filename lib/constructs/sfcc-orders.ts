/**
 * The sfcc-orders connector deployed: the shared connector construct (queue, DLQ, rule on `Order Confirmed`,
 * `Order Cancelled`, `Order Refunded`, throttle, idempotency, inbox, the SFCC secret) plus read access to the SKU
 * map in the `mappings` table, by batch get only, and its order leases in the `state` table.
 */
import type { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { MarketBridgeConnector } from './connector';
import type { TableKey } from './tables';

export interface SfccOrdersProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<Pick<Record<TableKey, ITable>, 'idempotency' | 'exceptions' | 'mappings' | 'state'>>;
  readonly timeout?: Duration;
}

export class SfccOrders extends Construct {
  readonly connector: MarketBridgeConnector;

  constructor(scope: Construct, id: string, props: SfccOrdersProps) {
    super(scope, id);
    this.connector = new MarketBridgeConnector(this, 'Connector', {
      config: props.config,
      connector: 'sfcc-orders',
      bus: props.bus,
      tables: props.tables,
      description: 'Mirakl orders into Salesforce Commerce Cloud (SCAPI createOrders), refunds and cancellations',
      ...(props.timeout ? { timeout: props.timeout } : {}),
    });
    this.connector.function.grantTable(TABLES.mappings, props.tables.mappings, ['BatchGetItem']);
    // Order leases: a conditional put to take one, a conditional delete to give it back.
    this.connector.function.grantTable(TABLES.state, props.tables.state, ['PutItem', 'DeleteItem']);
  }
}
