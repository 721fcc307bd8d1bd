/**
 * The scheduled read of SFCC shipments deployed: a function every SHIPMENTS_READ_MINUTES that turns shipped SFCC
 * shipments into `Shipment Dispatched` events for `mirakl-tracking`, so dispatch works without a hook in the
 * brand's SFCC cartridge. It reads the SFCC secret, its cursor row in the state table and puts events on the bus.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { SHIPMENTS_READ_MINUTES } from '../../functions/shared/sfcc/shipmentsRun';
import { MarketBridgeFunction } from './function';
import { scheduleEvery } from './schedule';
import type { TableKey } from './tables';

export interface SfccShipmentsProps {
  readonly config: Config;
  readonly bus: IEventBus;
  readonly tables: Readonly<Record<TableKey, ITable>>;
}

export class SfccShipments extends Construct {
  readonly function: MarketBridgeFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SfccShipmentsProps) {
    super(scope, id);
    const sfcc = props.config.sfcc;
    if (!sfcc) throw new Error('the SFCC shipments read needs the sfcc block of the configuration');
    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/sfcc-shipments.ts',
      serviceName: 'sfcc-shipments',
      description: 'Reads shipped SFCC shipments and publishes them as Shipment Dispatched for Mirakl dispatch',
      config: props.config,
      timeout: Duration.minutes(2),
      // The next scheduled run is the retry: the cursor only advances once the events are on the bus.
      retryAttempts: 0,
    });
    // Its cursor row: read, then a conditional update.
    this.function.grantTable(TABLES.state, props.tables.state, ['GetItem', 'UpdateItem']);
    this.function.grantPublish(props.bus);
    this.function.grantSecretValue(Secret.fromSecretNameV2(this, 'SfccSecret', sfcc.secretName));

    const trigger = scheduleEvery(this, this.function, {
      every: Duration.minutes(SHIPMENTS_READ_MINUTES),
      description: `Read SFCC shipments every ${SHIPMENTS_READ_MINUTES} minutes`,
      runs: 'the SFCC shipments read',
    });
    this.schedule = trigger.schedule;
    this.deadLetterQueue = trigger.deadLetterQueue;
  }
}
