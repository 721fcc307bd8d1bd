/**
 * The scheduled Dotdigital enrolment run deployed: a function every ENROLMENT_RUN_MINUTES that enrols the pending
 * programme enrolments in batches under Dotdigital's 20 calls an hour. It reads the Dotdigital secret, works on its
 * rows of the state table (its lease, the pending sets, the call in flight, the call log) and records exceptions.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Schedule } from 'aws-cdk-lib/aws-scheduler';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TABLES } from '../../functions/shared/aws/tables';
import type { Config } from '../../functions/shared/config';
import { ENROLMENT_RUN_MINUTES, ENROLMENT_RUN_TIMEOUT_SECONDS } from '../../functions/shared/dotdigital/enrolments';
import { MarketBridgeFunction } from './function';
import { scheduleEvery } from './schedule';
import type { TableKey } from './tables';

export interface DotdigitalEnrolmentsProps {
  readonly config: Config;
  readonly tables: Readonly<Pick<Record<TableKey, ITable>, 'state' | 'exceptions'>>;
}

export class DotdigitalEnrolments extends Construct {
  readonly function: MarketBridgeFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: DotdigitalEnrolmentsProps) {
    super(scope, id);
    const secretName = props.config.connectors.dotdigital?.secretName;
    if (!secretName) throw new Error('the Dotdigital enrolment run needs connectors.dotdigital.secretName');
    this.function = new MarketBridgeFunction(this, 'Function', {
      entry: 'functions/dotdigital-enrolments.ts',
      serviceName: 'dotdigital-enrolments',
      description: 'Enrols pending Dotdigital programme enrolments in batches under the cap of 20 calls an hour',
      config: props.config,
      // Also the run's lease: a run still going has never lost it.
      timeout: Duration.seconds(ENROLMENT_RUN_TIMEOUT_SECONDS),
      // The next scheduled run is the retry: what is pending stays pending.
      retryAttempts: 0,
    });
    // Its lease (conditional put, delete), the pending sets (get, delete members), the call in flight (put, update,
    // get, delete) and the call log (get, conditional put).
    this.function.grantTable(TABLES.state, props.tables.state, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
    this.function.grantTable(TABLES.exceptions, props.tables.exceptions, ['UpdateItem']);
    this.function.grantSecretValue(Secret.fromSecretNameV2(this, 'DotdigitalSecret', secretName));
    const trigger = scheduleEvery(this, this.function, {
      every: Duration.minutes(ENROLMENT_RUN_MINUTES),
      description: `Enrol pending Dotdigital programme enrolments every ${ENROLMENT_RUN_MINUTES} minutes`,
      runs: 'the Dotdigital enrolment run',
    });
    this.schedule = trigger.schedule;
    this.deadLetterQueue = trigger.deadLetterQueue;
  }
}
