/**
 * The MarketBridge stack: the event bus (with an archive for replay), the tables, the Mirakl poller and its
 * schedules, and the webhook endpoint. Environment-agnostic (no lookups), so `cdk synth` runs offline.
 *
 * Shared resources are public so later features wire in with a few lines, e.g. a connector gets
 * `stack.bus`, `stack.tables.idempotency`, `stack.tables.exceptions` and builds on `MarketBridgeFunction`.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Config } from '../functions/shared/config';
import { TABLES } from '../functions/shared/aws/tables';
import { enrolmentProgrammes } from '../functions/shared/dotdigital/enrolments';
import { BackfillJob } from './constructs/backfill';
import { BULK_BATCHING, MarketBridgeConnector } from './constructs/connector';
import { DotdigitalEnrolments } from './constructs/dotdigital-enrolments';
import { MarketBridgeFunction } from './constructs/function';
import { MiraklReturn } from './constructs/mirakl-return';
import { Operations } from './constructs/operations';
import { MiraklPoller } from './constructs/poller';
import { PrivacyEraser } from './constructs/privacy';
import { SfccOrders } from './constructs/sfcc-orders';
import { SfccShipments } from './constructs/sfcc-shipments';
import { MarketBridgeTables, type TableKey } from './constructs/tables';
import { WebhookEndpoint } from './constructs/webhook';

/** Dotdigital and SFMC poll asynchronous imports inside an invocation, so they get more than the default minute. */
const MARKETING_CONNECTORS = {
  klaviyo: { id: 'Klaviyo', description: 'Marketplace buyers and orders into Klaviyo (profiles by external id, order events)' },
  dotdigital: {
    id: 'Dotdigital',
    description: 'Marketplace buyers and orders into Dotdigital (private list, orders insight data)',
    timeout: Duration.seconds(120),
  },
  sfmc: {
    id: 'Sfmc',
    description: 'Marketplace buyers and orders into Salesforce Marketing Cloud data extensions and journeys',
    timeout: Duration.seconds(120),
  },
} as const satisfies Record<string, { id: string; description: string; timeout?: Duration }>;
type MarketingConnector = keyof typeof MARKETING_CONNECTORS;

/** Long enough to replay after a connector outage noticed late; the daily sweep covers at most 30 days. */
const ARCHIVE_RETENTION = Duration.days(90);

export interface MarketBridgeStackProps extends StackProps {
  readonly config: Config;
}

export class MarketBridgeStack extends Stack {
  readonly config: Config;
  readonly bus: EventBus;
  readonly archive: Archive;
  readonly tables: Readonly<Record<TableKey, Table>>;
  /** Each marketplace's Mirakl API key secret (referenced by name, never read at synthesis), by marketplace id. */
  readonly marketplaceSecrets: Readonly<Record<string, ISecret>>;
  readonly webhookSecret: ISecret;
  readonly poller: MiraklPoller;
  readonly webhook: WebhookEndpoint;
  /** The marketing destinations that are enabled, each with its queue, DLQ, rule and function. */
  readonly marketing: Partial<Record<MarketingConnector, MarketBridgeConnector>> = {};
  /** Present when Dotdigital is enabled with a programme: the batched enrolment run. */
  readonly dotdigitalEnrolments?: DotdigitalEnrolments;
  /** Present when `connectors.sfcc-orders` is enabled. */
  readonly sfccOrders?: SfccOrders;
  /** Present when any of `mirakl-acceptance`, `mirakl-stock`, `mirakl-tracking` is enabled. */
  readonly miraklReturn?: MiraklReturn;
  /** Present when `mirakl-tracking` is enabled and SFCC is configured: the scheduled read of SFCC shipments. */
  readonly sfccShipments?: SfccShipments;
  /** Alarms to the teams' topic, the dashboard, the daily reconciliation and the weekly report. */
  readonly operations: Operations;
  /** History loads (`marketbridge backfill` as a job): a state machine over the backfill function. */
  readonly backfill: BackfillJob;
  /** Erasures applied to our own tables. */
  readonly privacy: PrivacyEraser;

  constructor(scope: Construct, id: string, props: MarketBridgeStackProps) {
    super(scope, id, props);
    this.config = props.config;

    this.bus = new EventBus(this, 'Bus', { description: 'MarketBridge business events' });
    this.archive = this.bus.archive('Archive', {
      description: 'Every MarketBridge event, for replay to the bus',
      eventPattern: { account: [this.account] },
      retention: ARCHIVE_RETENTION,
    });

    this.tables = new MarketBridgeTables(this, 'Tables').tables;

    this.marketplaceSecrets = Object.fromEntries(
      props.config.marketplaces.map((mp) => [
        mp.id,
        Secret.fromSecretNameV2(this, `MiraklApiKey-${mp.id}`, mp.apiKeySecret),
      ]),
    );
    this.webhookSecret = Secret.fromSecretNameV2(this, 'WebhookSecret', props.config.webhook.secretName);

    this.poller = new MiraklPoller(this, 'Poller', {
      config: props.config,
      bus: this.bus,
      tables: this.tables,
      marketplaceSecrets: this.marketplaceSecrets,
    });
    this.webhook = new WebhookEndpoint(this, 'Webhook', {
      config: props.config,
      stateTable: this.tables.state,
      webhookSecret: this.webhookSecret,
      bus: this.bus,
    });

    for (const name of Object.keys(MARKETING_CONNECTORS) as MarketingConnector[]) {
      if (!props.config.connectors[name]?.enabled) continue;
      const { id, ...settings } = MARKETING_CONNECTORS[name];
      this.marketing[name] = new MarketBridgeConnector(this, id, {
        config: props.config,
        connector: name,
        bus: this.bus,
        tables: this.tables,
        ...settings,
        // History loads arrive as backlogs: bulk-sized batches let these connectors use their bulk endpoints.
        ...BULK_BATCHING,
      });
    }
    // SFMC's journey-entry ledger (`journey#<eventId>` in state): claim, read an earlier claim, mark, release.
    this.marketing.sfmc?.function.grantTable(TABLES.state, this.tables.state, ['PutItem', 'GetItem', 'DeleteItem']);
    // Dotdigital's order leases (conditional put and delete) and pending enrolments (ADD to a set) in state.
    this.marketing.dotdigital?.function.grantTable(TABLES.state, this.tables.state, ['PutItem', 'DeleteItem', 'UpdateItem']);
    if (this.marketing.dotdigital && enrolmentProgrammes(props.config).length > 0) {
      this.dotdigitalEnrolments = new DotdigitalEnrolments(this, 'DotdigitalEnrolments', { config: props.config, tables: this.tables });
    }
    if (props.config.connectors['sfcc-orders']?.enabled) {
      this.sfccOrders = new SfccOrders(this, 'SfccOrders', { config: props.config, bus: this.bus, tables: this.tables });
    }
    if ((['mirakl-acceptance', 'mirakl-stock', 'mirakl-tracking'] as const).some((c) => props.config.connectors[c]?.enabled)) {
      this.miraklReturn = new MiraklReturn(this, 'MiraklReturn', {
        config: props.config,
        bus: this.bus,
        tables: this.tables,
        marketplaceSecrets: this.marketplaceSecrets,
      });
    }
    if (props.config.connectors['mirakl-tracking']?.enabled && props.config.sfcc) {
      this.sfccShipments = new SfccShipments(this, 'SfccShipments', { config: props.config, bus: this.bus, tables: this.tables });
    }

    this.backfill = new BackfillJob(this, 'Backfill', {
      config: props.config,
      bus: this.bus,
      tables: this.tables,
      marketplaceSecrets: this.marketplaceSecrets,
      queues: Object.fromEntries(
        Object.entries(this.marketing).map(([name, connector]) => [
          name,
          { queue: connector.queue, batchSize: BULK_BATCHING.batchSize, maxConcurrency: props.config.connectors[name as MarketingConnector]?.maxConcurrency ?? 1 },
        ]),
      ),
    });
    new CfnOutput(this, 'BackfillStateMachineArn', { value: this.backfill.stateMachine.stateMachineArn });
    this.privacy = new PrivacyEraser(this, 'Privacy', { config: props.config, bus: this.bus, tables: this.tables });

    new CfnOutput(this, 'WebhookUrl', { value: this.webhook.url.url, description: 'Endpoint for pushed notifications' });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    for (const key of Object.keys(TABLES) as TableKey[]) {
      // Output ids from the env var names (STATE_TABLE_NAME → StateTableName) so scripts find them predictably.
      new CfnOutput(this, envVarToOutputId(TABLES[key].envVar), { value: this.tables[key].tableName });
    }

    // Last: it watches every connector constructed above (add new connectors above this point).
    this.operations = new Operations(this, 'Operations', {
      config: props.config,
      tables: this.tables,
      marketplaceSecrets: this.marketplaceSecrets,
      poller: this.poller,
      connectors: this.node.findAll().filter((c): c is MarketBridgeConnector => c instanceof MarketBridgeConnector),
      functions: this.node.findAll().filter((c): c is MarketBridgeFunction => c instanceof MarketBridgeFunction),
      alarms: this.miraklReturn?.alarms ?? [],
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.topic.topicArn, description: 'Alarms and the weekly report' });
  }
}

function envVarToOutputId(envVar: string): string {
  return envVar
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
