/**
 * `npm start`: the whole pipeline on this machine, no AWS account, nothing beyond loopback.
 * Usage: npm start [-- --config FILE] [--seed N] [--fail-put-events RATE] [--random-ports] [--data-dir DIR];
 * PORT sets the operations console port, SANDBOX_PORT the Mirakl sandbox's, --random-ports puts every server on a
 * free port, --data-dir moves the event log out of .marketbridge/. `--fail-put-events 0.1` fails a tenth of
 * PutEvents entries, so the poller's resending of failed entries can be watched.
 */
// First: the handler modules read the Powertools settings when they load.
import './powertools-env';
import { dirname, join, relative } from 'node:path';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { ConfigError, parseConfig, resolveConfig, sandboxConfigInput } from '../functions/shared/config';
import { startLocalRuntime, type LocalRuntime } from './runtime';
import { SFCC_SANDBOX_ORGANIZATION, SFCC_SANDBOX_SITE } from './sandboxes/sfcc';
import { formatSummary } from './summary';

const SUMMARY_EVERY_MS = 5000;
/** Connectors in flight at Ctrl-C may wait on a destination's Retry-After; do not hang on them. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Without --config: the built-in sandbox deployment with every connector on, each against its sandbox, so the
 * whole loop runs: marketing destinations, order intake into SFCC, acceptance, stock and dispatch back to Mirakl.
 */
const localDefault = () =>
  parseConfig(
    {
      ...sandboxConfigInput,
      sfcc: {
        shortCode: 'local001',
        organizationId: SFCC_SANDBOX_ORGANIZATION,
        siteId: SFCC_SANDBOX_SITE,
        instanceHost: 'local.sandbox.commercecloud.salesforce.com',
        secretName: 'marketbridge/sfcc',
        inventory: { listId: 'marketplace-inventory' },
      },
      connectors: {
        klaviyo: { enabled: true },
        // A programme on the confirmed fact, so the batched enrolment run has something to enrol.
        dotdigital: { enabled: true, listId: 4001, programmes: { confirmed: 7001 } },
        sfmc: {
          enabled: true,
          subdomain: 'mc-local',
          journeys: { confirmed: { eventDefinitionKey: 'APIEvent-marketbridge-order-confirmed' } },
        },
        'sfcc-orders': { enabled: true, secretName: 'marketbridge/sfcc' },
        'mirakl-acceptance': { enabled: true },
        'mirakl-stock': { enabled: true },
        'mirakl-tracking': { enabled: true },
        ...sandboxConfigInput.connectors,
      },
    },
    'built-in local configuration',
  );

/**
 * The handlers' structured logs (Powertools JSON lines, EMF blobs) go to a file beside the event log, as they would
 * go to CloudWatch, so the terminal keeps the banner and the live summary.
 */
function divertLambdaLogs(eventLogFile: string): string {
  const file = join(dirname(eventLogFile), 'lambda.log');
  // Powertools writes INFO to stdout and WARN/ERROR to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.startsWith('{"level"') || text.startsWith('{"_aws"')) {
        appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
  return file;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function port(value: string, name: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) fail(`${name} must be a port number, got "${value}"`);
  return parsed;
}

const USAGE =
  'usage: npm start [-- --config FILE] [--secrets FILE] [--seed N] [--fail-put-events RATE] [--random-ports] [--data-dir DIR]';

function args() {
  try {
    return parseArgs({
      options: {
        config: { type: 'string' },
        secrets: { type: 'string' },
        seed: { type: 'string' },
        'fail-put-events': { type: 'string' },
        'random-ports': { type: 'boolean' },
        'data-dir': { type: 'string' },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = args();
  let config;
  try {
    // Only an explicit file: a MARKETBRIDGE_CONFIG left in the shell is the deployed one, not the sandbox's.
    config = values.config ? resolveConfig({ file: values.config }) : localDefault();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  // Real endpoints (any marketplace not on loopback) need their real keys: a JSON object of secret name → value.
  let secrets: Record<string, string> = {};
  if (values.secrets) {
    try {
      secrets = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(values.secrets, 'utf8')));
    } catch (error) {
      fail(`--secrets ${values.secrets}: expected a JSON object of secret name to string value (${(error as Error).message.split('\n')[0]})`);
    }
  }
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) fail(`--seed must be an integer, got "${values.seed}"`);
  const faultRate = Number(values['fail-put-events'] ?? 0);
  if (!(faultRate >= 0 && faultRate < 1)) fail(`--fail-put-events must be a rate from 0 to below 1, got "${values['fail-put-events']}"`);

  // The same problem repeating (a connector failing every batch) is printed once, then every 100th time.
  const seen = new Map<string, number>();
  const onWarning = (message: string) => {
    const count = (seen.get(message) ?? 0) + 1;
    seen.set(message, count);
    if (count === 1 || count % 100 === 0) process.stderr.write(`! ${message}${count > 1 ? ` (×${count})` : ''}\n`);
  };

  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      config,
      secrets,
      randomPorts: values['random-ports'] ?? false,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(process.env.PORT ? { consolePort: port(process.env.PORT, 'PORT') } : {}),
      ...(process.env.SANDBOX_PORT ? { sandboxPort: port(process.env.SANDBOX_PORT, 'SANDBOX_PORT') } : {}),
      ...(seed !== undefined ? { seed } : {}),
      onWarning,
    });
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') fail(`a port is already in use (${err.message}); set PORT and SANDBOX_PORT, or use --random-ports`);
    fail(`cannot start the local runtime: ${err.stack ?? err.message}`);
  }

  runtime.aws.putEventsFaults.rate = faultRate;
  // The CLI (`marketbridge exceptions|reconcile|redrive|report`) reaches this runtime with these: `. <file>` first.
  const cliEnv = join(dirname(runtime.eventLogFile), 'cli.env');
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  writeFileSync(cliEnv, `${Object.entries(runtime.aws.env(runtime.config)).map(([key, value]) => `export ${key}=${quote(value)}`).join('\n')}\n`);
  const lambdaLog = divertLambdaLogs(runtime.eventLogFile);
  const connectors = runtime.connectors.map((c) => `${c.name}${c.consumer ? '' : ' (no handler yet)'}`);
  process.stdout.write(
    [
      'MarketBridge local runtime — everything on loopback, no AWS account',
      `  Mirakl sandbox       ${runtime.sandbox.url}  (${runtime.config.marketplaces.map((mp) => mp.id).join(', ')})`,
      ...Object.entries(runtime.destinations).map(([name, sandbox]) => `  ${`${name} sandbox`.padEnd(20)} ${sandbox.url}`),
      `  Webhook              ${runtime.webhookUrl ?? '(functions/webhook.ts not written yet)'}`,
      `  Operations console   ${runtime.consoleUrl}  (flow, queues and DLQs, exception inbox, reconciliation)`,
      `  Console / API        ${runtime.consoleUrl}api/health`,
      `  CLI environment      . ${relative(process.cwd(), cliEnv)}   (then npx marketbridge exceptions list, …)`,
      `  Event log            ${relative(process.cwd(), runtime.eventLogFile)}`,
      `  Lambda logs          ${relative(process.cwd(), lambdaLog)}`,
      `  Connectors           ${connectors.length > 0 ? connectors.join(', ') : 'none enabled (events stay in the event log)'}`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  let last = '';
  const summary = setInterval(() => {
    void runtime.snapshot().then((snapshot) => {
      const text = formatSummary(snapshot);
      // Print only when something changed (the first line carries the time).
      const body = text.slice(text.indexOf(']'));
      if (body !== last) process.stdout.write(`${text}\n`);
      last = body;
    });
  }, SUMMARY_EVERY_MS);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      process.stderr.write(`${signal} again: exiting without a clean stop\n`);
      process.exit(1);
    }
    stopping = true;
    clearInterval(summary);
    process.stdout.write(`\n${signal}: stopping…\n`);
    setTimeout(() => fail(`still stopping after ${STOP_TIMEOUT_MS / 1000} s: exiting anyway`), STOP_TIMEOUT_MS).unref();
    runtime.stop().then(
      () => process.exit(0),
      (error: Error) => fail(`stop failed: ${error.message}`),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

await main();
