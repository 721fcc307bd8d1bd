/**
 * The own-tables half of every erasure (a `marketbridge erase` or a buyer Mirakl anonymised): the privacy consumer
 * takes the erasure events from its own queue, with the DLQ, retries, exceptions and alarms every connector has.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { MarketBridgeConnector } from './connector';

const BY_MARKETPLACE = TABLES.exceptions.indexes.find((i) => i.name === 'byMarketplace')?.name as string;

export interface PrivacyEraserProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<{ idempotency: ITable; exceptions: ITable }>;
}

export class PrivacyEraser extends Construct {
  readonly consumer: MarketBridgeConnector;

  constructor(scope: Construct, id: string, props: PrivacyEraserProps) {
    super(scope, id);
    this.consumer = new MarketBridgeConnector(this, 'Consumer', {
      config: props.config,
      connector: 'privacy',
      bus: props.bus,
      tables: props.tables,
      description: "Erasures applied to MarketBridge's own tables (the buyer's stored exception payloads)",
    });
    // The buyer's entries are found through the inbox's marketplace index, then updated (UpdateItem is granted).
    this.consumer.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${props.tables.exceptions.tableArn}/index/${BY_MARKETPLACE}`] }),
    );
  }
}
