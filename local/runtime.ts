/**
 * The whole MarketBridge pipeline on one machine: AWS on loopback (DynamoDB, EventBridge, Secrets Manager, SQS),
 * the Mirakl sandbox, the bus with the stack's routing rules, connector queues with SQS semantics and the real
 * Lambda handlers, imported unmodified after the environment points their SDK clients at the emulators.
 *
 * One runtime per process at a time: process.env is global and handler modules keep the SDK clients they created
 * at import, so a second runtime in the same process would talk to the first one's emulators.
 */
import { isIPv4 } from 'node:net';
import { localPowertoolsDefaults } from './powertools-env';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { sandboxConfig, type Config } from '../functions/shared/config';
import { MAX_RECEIVE_COUNT_ENV } from '../functions/shared/connector/runtime';
import { ENROLMENT_RUN_MINUTES, ENROLMENT_RUN_TIMEOUT_SECONDS, enrolmentProgrammes } from '../functions/shared/dotdigital/enrolments';
import { connectorQueueNames, DEFAULT_STACK_NAME } from '../functions/shared/operations/queues';
import { eventPatternFor } from '../functions/shared/routes';
import { startLocalAws, type LocalAws, type LocalSecrets } from './aws';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './aws/protocol';
import { LocalBus, type LoggedEvent } from './bus';
import { DEFAULT_CONNECTORS, loadHandler, planConnectors, REPO_ROOT, type ConnectorRegistration } from './connectors';
import { prepareCommerceLoop } from './commerce';
import { startConsoleServer, type ConsoleServer } from './console-server';
import { consoleRoutes } from './console/routes';
import { startFunctionUrl, type FunctionUrlServer } from './function-url';
import { lambdaContext } from './lambda';
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  QueueConsumer,
  QueueRegistry,
  type LocalQueue,
  type SqsLambdaHandler,
} from './queue';
import { attachDotdigitalSandbox } from './sandboxes/dotdigital';
import { attachSfmcSandbox } from './sandboxes/sfmc';
import { attachKlaviyoSandbox } from './sandboxes/klaviyo';
import { attachSfccSandbox } from './sandboxes/sfcc/attach';
import type { WebhookTarget } from './sandboxes/sfcc/warehouse';
import { startMiraklSandbox } from './sandboxes/mirakl';
import { Scheduler, type JobOutcome, type PollerInput, type PollerMode, type RunOutcome, type ScheduledJob, type SchedulerClock } from './scheduler';
import type { RuntimeSnapshot } from './summary';

export type MiraklSandbox = Awaited<ReturnType<typeof startMiraklSandbox>>;

/** A running destination sandbox, as the runtime needs to know it. */
export interface DestinationSandbox {
  url: string;
  close(): Promise<void>;
  /** Moves the sandbox's own life on (the SFCC warehouse), with the Mirakl world's tick. */
  tick?(): Promise<void>;
  /** Counts for the live summary. */
  stats?(): Record<string, number>;
}

/**
 * Starts a destination's sandbox when the configuration enables its connector: stores the credentials it accepts
 * under the connector's secret name and returns the configuration pointed at it; undefined when not enabled.
 */
export type DestinationSandboxAttachment = (
  config: Config,
  secrets: LocalSecrets,
  options: {
    port?: number;
    seed: number;
    /** The runtime's webhook and its signing secret, once it is up (for sandboxes that call back, as SFCC hooks do). */
    webhook: () => WebhookTarget | undefined;
    /** An order's state in the Mirakl sandbox. */
    miraklOrderState: (marketplace: string, orderId: string) => string | undefined;
  },
) => Promise<{ config: Config; sandbox: DestinationSandbox } | undefined>;

/** The destination sandboxes `npm start` runs, by connector. */
export const DEFAULT_DESTINATION_SANDBOXES: Readonly<Record<string, DestinationSandboxAttachment>> = {
  klaviyo: attachKlaviyoSandbox,
  dotdigital: attachDotdigitalSandbox,
  sfmc: attachSfmcSandbox,
  'sfcc-orders': attachSfccSandbox,
};

export interface LocalRuntimeOptions {
  config?: Config;
  /** Every server on a random free port unless its own port option says otherwise (tests). */
  randomPorts?: boolean;
  /** Where the event log goes; git-ignored `.marketbridge/` by default. */
  dataDir?: string;
  /** Mirakl sandbox port: 4010 by default, 0 for a random one. */
  sandboxPort?: number;
  /** Webhook Function URL port: random by default. */
  webhookPort?: number;
  /** Operations console port (`PORT`): 3000 by default, 0 for a random one. */
  consolePort?: number;
  /** Run the poller on its schedules (default true); tests turn it off and call `runPoll`. */
  schedule?: boolean;
  schedulerClock?: SchedulerClock;
  /** How often the sandbox world moves on (new orders, shipping, refunds…); 0 stops it. Default 5 s. */
  tickIntervalMs?: number;
  /** Sandbox world seed: the same seed gives the same order history. Random by default. */
  seed?: number;
  queues?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number; pollIntervalMs?: number; batchSize?: number };
  connectors?: readonly ConnectorRegistration[];
  destinationSandboxes?: Readonly<Record<string, DestinationSandboxAttachment>>;
  /** Handler module paths, relative to the repository root. */
  pollerModule?: string;
  webhookModule?: string;
  /** Problems worth telling the operator about (failed invocations, ticks); messages only, no payloads. */
  onWarning?: (message: string) => void;
  /**
   * Secret values by name for endpoints that are not sandboxes (a marketplace whose baseUrl is not on loopback);
   * they are held only in the in-memory Secrets Manager emulator.
   */
  secrets?: Readonly<Record<string, string>>;
}

/** Marketplaces configured on loopback are served by the Mirakl sandbox; any other base URL is a real endpoint. */
export function servedBySandbox(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname;
  return host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
}

export interface ConnectorRuntime {
  name: string;
  queue: LocalQueue;
  dlq: LocalQueue;
  /** Present once the connector's handler module exists. */
  consumer?: QueueConsumer;
}

export interface LocalRuntime {
  /** The effective configuration: marketplace base URLs point at the sandbox. */
  config: Config;
  aws: LocalAws;
  secrets: LocalSecrets;
  bus: LocalBus;
  /** The event log file (JSONL, one `{ event, routedTo }` per line). */
  eventLogFile: string;
  events(): readonly LoggedEvent[];
  queues: QueueRegistry;
  connectors: readonly ConnectorRuntime[];
  sandbox: MiraklSandbox;
  /** Destination sandboxes started because their connector is enabled, by connector name. */
  destinations: Readonly<Record<string, DestinationSandbox>>;
  webhookUrl?: string;
  consoleUrl: string;
  console: ConsoleServer;
  /** Invokes the poller for a marketplace now (after any run of it in progress); rejects if the run fails. */
  runPoll(marketplace: string, mode?: PollerMode): Promise<RunOutcome>;
  /**
   * Names of the other scheduled Lambdas (`mirakl-stock <marketplace>`, `acceptance-watch`, `sfcc-shipments`,
   * `dotdigital-enrolments`).
   */
  scheduledJobs: readonly string[];
  /** Runs a scheduled Lambda now (or joins its run in progress); rejects if the run fails. */
  runScheduled(job: string): Promise<JobOutcome>;
  snapshot(): Promise<RuntimeSnapshot>;
  stop(): Promise<void>;
}

type PollerHandler = (input: PollerInput, context: Context) => Promise<unknown>;
type WebhookHandler = (event: LambdaFunctionURLEvent, context: Context) => Promise<unknown>;

let active = false;

function randomSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** Sets variables, returning a function that puts the previous values back. */
function applyEnv(values: Record<string, string>): () => void {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** Mirakl calls the sandbox answered, by operation: succeeded (2xx) and failed; counts only. */
function miraklCalls(sandbox: MiraklSandbox): Record<string, { ok: number; failed: number }> {
  const calls: Record<string, { ok: number; failed: number }> = {};
  for (const request of sandbox.requests) {
    if (!request.operation) continue;
    const count = (calls[request.operation] ??= { ok: 0, failed: 0 });
    if (request.status >= 200 && request.status < 300) count.ok += 1;
    else count.failed += 1;
  }
  return calls;
}

async function openExceptions(aws: LocalAws): Promise<{ open: number; byType: Record<string, number> }> {
  const client = new DynamoDBClient({ endpoint: aws.dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const byType: Record<string, number> = {};
  let open = 0;
  try {
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      // Only the type and status are read: the summary never touches a record's content.
      const page = await client.send(
        new ScanCommand({
          TableName: aws.dynamo.tableNames.exceptions,
          ProjectionExpression: '#type, #status',
          ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.status?.S === 'resolved') continue;
        open += 1;
        const type = item.type?.S ?? 'unknown';
        byType[type] = (byType[type] ?? 0) + 1;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    client.destroy();
  }
  return { open, byType };
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  if (active) throw new Error('a local runtime is already running in this process (process.env is shared)');
  active = true;
  const warn = options.onWarning ?? (() => undefined);
  const cleanups: (() => Promise<void> | void)[] = [() => void (active = false)];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        warn(`shutdown step failed: ${(error as Error).message}`);
      }
    }
  };

  try {
    const base = options.config ?? sandboxConfig;
    const plans = planConnectors(base, options.connectors ?? DEFAULT_CONNECTORS);
    const apiKeys = new Map(base.marketplaces.map((mp) => [mp.id, randomSecret()]));
    const seed = options.seed ?? randomBytes(4).readUInt32BE(0);
    const consumes = (name: string) => plans.some((plan) => plan.name === name && plan.handlerFile);
    const sandbox = await startMiraklSandbox({
      port: options.sandboxPort ?? (options.randomPorts ? 0 : 4010),
      marketplaces: base.marketplaces.map((mp) => ({
        id: mp.id,
        apiKey: apiKeys.get(mp.id) ?? '',
        ...(mp.shopId !== undefined ? { shopId: mp.shopId } : {}),
      })),
      // A seed makes the sandbox load its order history.
      seed,
      // The sandbox operator accepts orders itself unless our acceptance connector does it.
      autoAccept: !consumes('mirakl-acceptance'),
      // Nor does the seller ship by hand when orders go to SFCC, whose warehouse ships them back through dispatch.
      autoShip: !(consumes('sfcc-orders') && consumes('mirakl-tracking')),
    });
    cleanups.push(() => sandbox.close());

    const sandboxUrl = sandbox.url.replace(/\/+$/, '');
    let config: Config = {
      ...base,
      marketplaces: base.marketplaces.map((mp) =>
        servedBySandbox(mp.baseUrl) ? { ...mp, baseUrl: `${sandboxUrl}/${mp.id}` } : mp,
      ),
    };

    const dataDir = resolve(options.dataDir ?? join(REPO_ROOT, '.marketbridge'));
    const eventLogFile = join(dataDir, 'events.jsonl');
    const bus = new LocalBus({ name: 'marketbridge-local', logFile: eventLogFile });
    const queues = new QueueRegistry();
    cleanups.push(() => queues.stop());

    const aws = await startLocalAws({ bus, queues });
    cleanups.push(() => aws.close());
    for (const mp of config.marketplaces) {
      if (servedBySandbox(mp.baseUrl)) aws.secrets.put(mp.apiKeySecret, apiKeys.get(mp.id) ?? '');
    }
    for (const [name, value] of Object.entries(options.secrets ?? {})) aws.secrets.put(name, value);
    aws.secrets.put(config.webhook.secretName, randomSecret());

    // Set once the webhook is up; sandboxes that call it (SFCC hooks) wait for it.
    let webhookServer: FunctionUrlServer | undefined;
    const webhookTarget = (): WebhookTarget | undefined => {
      const secret = aws.secrets.find(config.webhook.secretName)?.value;
      return webhookServer && secret ? { url: webhookServer.url, secret } : undefined;
    };
    const destinations: Record<string, DestinationSandbox> = {};
    for (const [name, attach] of Object.entries(options.destinationSandboxes ?? DEFAULT_DESTINATION_SANDBOXES)) {
      const attached = await attach(config, aws.secrets, {
        ...(options.randomPorts ? { port: 0 } : {}),
        seed,
        webhook: webhookTarget,
        miraklOrderState: (marketplace, orderId) => sandbox.world.get(marketplace, orderId)?.order_state,
      });
      if (!attached) continue;
      destinations[name] = attached.sandbox;
      cleanups.push(() => attached.sandbox.close());
      config = attached.config;
    }

    const queueOptions = options.queues ?? {};
    const connectors: ConnectorRuntime[] = plans.map((plan) => {
      const names = connectorQueueNames(DEFAULT_STACK_NAME, plan.name);
      const dlq = queues.create({ name: names.dlq, retentionSeconds: 14 * 24 * 3600 });
      const queue = queues.create({
        name: names.queue,
        visibilityTimeoutSeconds: queueOptions.visibilityTimeoutSeconds ?? 30,
        deadLetter: { queue: dlq, maxReceiveCount: queueOptions.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT },
      });
      bus.addRule({ name: plan.name, pattern: eventPatternFor(config, plan.name), deliver: (json) => queue.send(json) });
      return { name: plan.name, queue, dlq };
    });

    cleanups.push(
      applyEnv({
        ...localPowertoolsDefaults(),
        ...aws.env(config),
        // The connectors record their exception on the last receive before the DLQ: the queues' own count.
        [MAX_RECEIVE_COUNT_ENV]: String(queueOptions.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT),
      }),
    );

    // Handlers are imported only now: their SDK clients read the endpoints from the environment at creation.
    const pollerFile = resolve(REPO_ROOT, options.pollerModule ?? 'functions/poller.ts');
    const poller = existsSync(pollerFile) ? await loadHandler<PollerHandler>(pollerFile) : undefined;
    if (!poller) warn(`${pollerFile} does not exist yet: nothing polls Mirakl`);
    const webhookFile = resolve(REPO_ROOT, options.webhookModule ?? 'functions/webhook.ts');
    const webhook = existsSync(webhookFile) ? await loadHandler<WebhookHandler>(webhookFile) : undefined;
    if (!webhook) warn(`${webhookFile} does not exist yet: no webhook endpoint`);

    for (const [i, plan] of plans.entries()) {
      const connector = connectors[i];
      const handlerFile = plan.handlerFile;
      if (!handlerFile || !connector) continue;
      let environments = 0;
      const environment = () => loadHandler<SqsLambdaHandler>(handlerFile, environments++);
      connector.consumer = new QueueConsumer({
        queue: connector.queue,
        // One module instance per concurrent invocation, as Lambda gives each execution environment its own state.
        handler: await Promise.all(Array.from({ length: plan.maxConcurrency }, environment)),
        // The invocation's time is the queue's visibility timeout (what the handlers' context reports remaining).
        timeoutMs: connector.queue.visibilityTimeoutSeconds * 1000,
        newEnvironment: environment,
        functionName: `marketbridge-${plan.name}`,
        maxConcurrency: plan.maxConcurrency,
        ...(queueOptions.batchSize !== undefined ? { batchSize: queueOptions.batchSize } : {}),
        ...(queueOptions.pollIntervalMs !== undefined ? { pollIntervalMs: queueOptions.pollIntervalMs } : {}),
        onInvocationError: (name, error) => warn(`${name} invocation failed: ${error.name}: ${error.message}`),
      });
      const consumer = connector.consumer;
      consumer.start();
      cleanups.push(() => consumer.stop());
    }

    const returnPath = (name: string) => plans.find((plan) => plan.name === name)?.handlerFile;
    const jobs: ScheduledJob[] = [];
    if (returnPath('mirakl-acceptance') || returnPath('mirakl-stock') || returnPath('mirakl-tracking')) {
      const watchFile = resolve(REPO_ROOT, 'functions/acceptance-watch.ts');
      const shipmentsFile = resolve(REPO_ROOT, 'functions/sfcc-shipments.ts');
      jobs.push(
        ...(await prepareCommerceLoop({
          config,
          sandbox,
          ...(returnPath('mirakl-stock') ? { stockHandlerFile: returnPath('mirakl-stock') } : {}),
          ...(returnPath('mirakl-acceptance') && existsSync(watchFile) ? { watchHandlerFile: watchFile } : {}),
          // As the stack: the shipments read is deployed with dispatch when SFCC is configured.
          ...(returnPath('mirakl-tracking') && config.sfcc && existsSync(shipmentsFile) ? { shipmentsHandlerFile: shipmentsFile } : {}),
        })),
      );
    }

    // As the stack: the enrolment run is deployed with the Dotdigital connector when a programme is configured.
    const enrolmentsFile = resolve(REPO_ROOT, 'functions/dotdigital-enrolments.ts');
    if (consumes('dotdigital') && enrolmentProgrammes(config).length > 0 && existsSync(enrolmentsFile)) {
      const enrol = await loadHandler<(input: object, context: Context) => Promise<unknown>>(enrolmentsFile);
      jobs.push({
        name: 'dotdigital-enrolments',
        intervalMinutes: ENROLMENT_RUN_MINUTES,
        invoke: () => enrol({}, lambdaContext('marketbridge-dotdigital-enrolments', ENROLMENT_RUN_TIMEOUT_SECONDS * 1000)),
      });
    }

    if (webhook) {
      webhookServer = await startFunctionUrl({
        handler: webhook,
        functionName: 'marketbridge-webhook',
        ...(options.webhookPort !== undefined ? { port: options.webhookPort } : {}),
        onError: (error) => warn(`webhook invocation failed: ${error.name}: ${error.message}`),
      });
      const server = webhookServer;
      cleanups.push(() => server.close());
    }

    const scheduler = new Scheduler({
      marketplaces: config.marketplaces.map((mp) => ({ id: mp.id, intervalMinutes: mp.poll.intervalMinutes })),
      invoke: async (input) => {
        if (!poller) throw new Error('functions/poller.ts does not exist yet');
        return poller(input, lambdaContext('marketbridge-poller', 15 * 60_000));
      },
      jobs,
      ...(options.schedulerClock ? { clock: options.schedulerClock } : {}),
      onOutcome: (outcome) => {
        if (!outcome.ok && outcome.error) {
          warn(`poller ${outcome.input.mode} ${outcome.input.marketplace} failed: ${outcome.error.name}: ${outcome.error.message}`);
        }
      },
      onJobOutcome: (outcome) => {
        if (!outcome.ok && outcome.error) warn(`${outcome.job} failed: ${outcome.error.name}: ${outcome.error.message}`);
      },
    });
    cleanups.push(() => scheduler.stop());

    const startedAt = Date.now();
    const snapshot = async (): Promise<RuntimeSnapshot> => {
      let exceptions: RuntimeSnapshot['exceptions'];
      try {
        exceptions = await openExceptions(aws);
      } catch (error) {
        warn(`cannot read the exceptions table: ${(error as Error).message}`);
      }
      return {
        at: new Date().toISOString(),
        events: { total: bus.totalEvents(), byMarketplace: bus.countsByMarketplace() },
        ...(exceptions ? { exceptions } : {}),
        polls: scheduler.snapshot(),
        schedules: scheduler.jobsSnapshot(),
        miraklCalls: miraklCalls(sandbox),
        stockImports: sandbox.stock.totals(),
        destinations: Object.fromEntries(
          Object.entries(destinations).flatMap(([name, destination]) => (destination.stats ? [[name, destination.stats()]] : [])),
        ),
        queues: connectors.map((c) => {
          const depth = c.queue.depth();
          const dead = c.dlq.depth();
          return {
            connector: c.name,
            consuming: c.consumer !== undefined,
            visible: depth.visible,
            inFlight: depth.inFlight,
            deadLettered: dead.visible + dead.inFlight,
            processed: c.consumer?.stats.deletedRecords ?? 0,
            failed: c.consumer?.stats.failedRecords ?? 0,
          };
        }),
        putEventsFaultsInjected: aws.putEventsFaults.injected,
      };
    };

    const consoleServer = await startConsoleServer({
      port: options.consolePort ?? (options.randomPorts ? 0 : 3000),
      routes: [
        {
          method: 'GET',
          path: '/api/health',
          handle: async () => ({
            status: 200,
            body: {
              status: 'ok',
              startedAt: new Date(startedAt).toISOString(),
              uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
              sandboxUrl: sandbox.url,
              webhookUrl: webhookServer?.url ?? null,
              poller: poller !== undefined,
              ...(await snapshot()),
            },
          }),
        },
      ],
    });
    cleanups.push(() => consoleServer.close());
    for (const route of consoleRoutes({ config, connectors, events: () => bus.events() })) consoleServer.addRoute(route);

    if (options.schedule ?? true) scheduler.start();
    const tickMs = options.tickIntervalMs ?? 5000;
    if (tickMs > 0) {
      let destinationsTicking = false;
      const ticker = setInterval(() => {
        try {
          sandbox.world.tick();
        } catch (error) {
          warn(`sandbox tick failed: ${(error as Error).message}`);
        }
        // A destination's tick may call our webhook; a slow one makes the next tick skip, not pile up.
        if (destinationsTicking) return;
        destinationsTicking = true;
        void Promise.all(
          Object.entries(destinations).map(([name, destination]) =>
            destination.tick?.().catch((error: Error) => warn(`${name} sandbox tick failed: ${error.message}`)),
          ),
        ).finally(() => (destinationsTicking = false));
      }, tickMs);
      cleanups.push(() => clearInterval(ticker));
    }

    let stopping: Promise<void> | undefined;
    return {
      config,
      aws,
      secrets: aws.secrets,
      bus,
      eventLogFile,
      events: () => bus.events(),
      queues,
      connectors,
      sandbox,
      destinations,
      ...(webhookServer ? { webhookUrl: webhookServer.url } : {}),
      consoleUrl: consoleServer.url,
      console: consoleServer,
      runPoll: async (marketplace, mode = 'poll') => {
        const outcome = await scheduler.run(marketplace, mode);
        if (!outcome.ok) throw outcome.error ?? new Error(`poller ${mode} ${marketplace} failed`);
        return outcome;
      },
      scheduledJobs: jobs.map((job) => job.name),
      runScheduled: async (job) => {
        const outcome = await scheduler.runJob(job);
        if (!outcome.ok) throw outcome.error ?? new Error(`${job} failed`);
        return outcome;
      },
      snapshot,
      stop: () => (stopping ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
