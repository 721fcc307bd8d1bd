/**
 * Lambda bundle sizes: every handler module in `functions/` bundled the way the stack bundles it (MarketBridgeFunction:
 * esbuild, ESM, node22, minified, AWS SDK external, the createRequire banner), measured without the source map,
 * which Lambda loads only when an error needs it. Small bundles are fast cold starts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../lib/constructs/function';

export interface BundleSize {
  /** The handler module's name, e.g. `klaviyo` for `functions/klaviyo.ts`. */
  name: string;
  kb: number;
}

/** Every deployable handler: the top-level modules of `functions/`. */
export function handlerModules(root = PROJECT_ROOT): string[] {
  return readdirSync(join(root, 'functions'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

export async function benchBundles(names: readonly string[] = handlerModules()): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
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
    const bytes = result.outputFiles.reduce((n, file) => n + file.contents.byteLength, 0);
    sizes.push({ name, kb: Math.round((bytes / 1024) * 10) / 10 });
  }
  return sizes;
}
