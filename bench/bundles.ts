/**
 * Lambda bundle sizes: every handler module in `functions/` bundled the way the stack bundles it (MarketBridgeFunction:
 * esbuild, ESM, node22, minified, AWS SDK external, the createRequire banner), measured without the source map,
 * which Lambda loads only when an error needs it. And each bundle's init: the time a fresh Node process takes to
 * import it (module parse, the AWS SDK clients it loads, Powertools and config set-up), the part of a cold start that
 * is ours.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BACKFILL_QUEUES_ENV } from '../functions/shared/backfill/awsDependencies';
import { CONFIG_ENV, EVENT_BUS_ENV, TABLES } from '../functions/shared/aws/tables';
import { MAX_RECEIVE_COUNT_ENV } from '../functions/shared/connector/runtime';
import { STACK_NAME_ENV } from '../functions/shared/operations/queues';
import { ALERT_TOPIC_ENV } from '../functions/shared/operations/report';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../lib/constructs/function';
import { everyConnectorConfig } from './pipeline';

export interface BundleSize {
  /** The handler module's name, e.g. `klaviyo` for `functions/klaviyo.ts`. */
  name: string;
  kb: number;
  /** Median over the runs of a cold import of the bundle, in ms. */
  initMs: number;
}

/** What the stack puts in a function's environment, with placeholder names: init reads them, nothing calls AWS. */
const FUNCTION_ENVIRONMENT = {
  AWS_REGION: 'eu-west-1',
  ...Object.fromEntries(Object.values(TABLES).map((table) => [table.envVar, `bench-${table.name}`])),
  [EVENT_BUS_ENV]: 'bench-bus',
  [CONFIG_ENV]: JSON.stringify(everyConnectorConfig),
  [STACK_NAME_ENV]: 'MarketBridge',
  [ALERT_TOPIC_ENV]: 'arn:aws:sns:eu-west-1:000000000000:bench-alerts',
  [BACKFILL_QUEUES_ENV]: '{}',
  [MAX_RECEIVE_COUNT_ENV]: '5',
};

/**
 * Imports `file` in a fresh Node process `runs` times; the median ms. The bundle sits inside the project so the AWS
 * SDK resolves from node_modules, as the Lambda runtime provides it.
 */
function initTime(file: string, runs: number): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const times = Array.from({ length: runs }, () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, ...FUNCTION_ENVIRONMENT },
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`${file} failed to initialise: ${child.stderr.split('\n').find((line) => /Error/.test(line)) ?? child.stderr.slice(-300)}`);
    return Number(child.stdout);
  }).sort((a, b) => a - b);
  return Math.round((times[Math.floor(times.length / 2)] as number) * 10) / 10;
}

/** Every deployable handler: the top-level modules of `functions/`. */
export function handlerModules(root = PROJECT_ROOT): string[] {
  return readdirSync(join(root, 'functions'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

export async function benchBundles(names: readonly string[] = handlerModules(), options: { initRuns?: number } = {}): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  const directory = join(PROJECT_ROOT, 'node_modules', '.cache', 'marketbridge-bench');
  mkdirSync(directory, { recursive: true });
  for (const name of names) {
    const result = await build({
      entryPoints: [join(PROJECT_ROOT, 'functions', `${name}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      minify: true,
      external: ['@aws-sdk/*'],
      write: false,
      logLevel: 'silent',
    });
    const [code] = result.outputFiles;
    if (!code) throw new Error(`esbuild produced no output for ${name}`);
    const file = join(directory, `${name}.mjs`);
    writeFileSync(file, code.contents);
    sizes.push({ name, kb: Math.round((code.contents.byteLength / 1024) * 10) / 10, initMs: initTime(file, options.initRuns ?? 3) });
  }
  return sizes;
}
