import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../lib/constructs/function';
import { handlerModules } from './bundles';
import { everyConnectorConfig } from './pipeline';
import { TABLES } from '../functions/shared/aws/tables';
const env = {
  PATH: process.env.PATH, AWS_REGION: 'eu-west-1',
  ...Object.fromEntries(Object.values(TABLES).map((t) => [t.envVar, `bench-${t.name}`])),
  EVENT_BUS_NAME: 'bench', MARKETBRIDGE_CONFIG: JSON.stringify(everyConnectorConfig), MARKETBRIDGE_STACK: 'MarketBridge',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:bench', BACKFILL_QUEUES: '{}', CONNECTOR_MAX_RECEIVE_COUNT: '5',
};
const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'init'); mkdirSync(dir, { recursive: true });
for (const name of handlerModules()) {
  const r = await build({ entryPoints: [join(PROJECT_ROOT, 'functions', `${name}.ts`)], bundle: true, platform: 'node', format: 'esm', target: 'node22', mainFields: ['module', 'main'], banner: { js: ESM_REQUIRE_BANNER }, minify: true, external: ['@aws-sdk/*'], write: false, logLevel: 'silent' });
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, r.outputFiles[0]!.contents);
  const times: string[] = [];
  for (let i = 0; i < 3; i++) {
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', `const t=performance.now(); await import(${JSON.stringify(file)}); console.log((performance.now()-t).toFixed(1))`], { env, encoding: 'utf8' });
    times.push(out.stdout.trim() || out.stderr.split('\n').filter((l) => /Error/.test(l)).map((l) => l.slice(-200)).join('|'));
  }
  console.log(name, times.join(' '));
}
