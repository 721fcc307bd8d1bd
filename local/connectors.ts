/**
 * Which connector Lambdas the local runtime consumes with. A connector registers as a name and a handler module
 * (`functions/<name>.ts` exporting `handler`); it gets a queue when enabled in the configuration and a consumer
 * once its module exists, so connectors plug in as they are written. The privacy consumer is planned whatever the
 * configuration, as the stack deploys it: every erasure must reach our own tables too.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONNECTOR_NAMES, type Config } from '../functions/shared/config';
import { type ConsumerName, enabledConnectors } from '../functions/shared/routes';

/** The repository root, from which handler module paths are resolved. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export interface ConnectorRegistration {
  name: ConsumerName;
  /** Handler module, relative to the repository root, exporting `handler`. */
  module: string;
}

export const DEFAULT_CONNECTORS: readonly ConnectorRegistration[] = [...CONNECTOR_NAMES, 'privacy' as const].map((name) => ({
  name,
  module: `functions/${name}.ts`,
}));

export interface ConnectorPlan {
  name: ConsumerName;
  /** Absolute path of the handler module, when it exists. */
  handlerFile?: string;
  maxConcurrency: number;
}

/**
 * Every enabled connector, then the privacy consumer (each gets a queue and a rule), with its handler file when one
 * is registered and written. Privacy has no settings: the stack gives it SQS's minimum maximum concurrency, 2.
 */
export function planConnectors(
  config: Config,
  registrations: readonly ConnectorRegistration[] = DEFAULT_CONNECTORS,
  root = REPO_ROOT,
): ConnectorPlan[] {
  const consumers: ConsumerName[] = [...enabledConnectors(config), 'privacy'];
  return consumers.map((name) => {
    const registration = registrations.find((candidate) => candidate.name === name);
    const file = registration ? resolve(root, registration.module) : undefined;
    return {
      name,
      ...(file && existsSync(file) ? { handlerFile: file } : {}),
      maxConcurrency: (name === 'privacy' ? undefined : config.connectors[name]?.maxConcurrency) ?? 2,
    };
  });
}

/**
 * Imports a handler module and returns its `handler` export, with an error naming the module otherwise. Each
 * `environment` number gets its own instance of the module, as each concurrent Lambda execution environment has its
 * own module state (token caches, pacers); the modules it imports are still shared.
 */
export async function loadHandler<T>(file: string, environment?: number): Promise<T> {
  const url = pathToFileURL(file).href + (environment === undefined ? '' : `?environment=${environment}`);
  const module = (await import(url)) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new Error(`${file} does not export a function named "handler"`);
  return module.handler as T;
}
