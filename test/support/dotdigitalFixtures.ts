/**
 * A Dotdigital connector on loopback for tests and the benchmark: the sandbox, a configuration pointing at it,
 * and the connector on the shared HTTP layer with Dotdigital's rate-limit header (waits shrunk to milliseconds).
 */
import { type Config, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { Connector } from '../../functions/shared/connector/runtime';
import { createDotdigitalConnector, dotdigitalRetryAfter } from '../../functions/shared/dotdigital/connector';
import { type HttpClient, createHttpClient } from '../../functions/shared/http';
import {
  DOTDIGITAL_SANDBOX_PASSWORD,
  DOTDIGITAL_SANDBOX_USER,
  type DotdigitalSandbox,
  type DotdigitalSandboxOptions,
  SANDBOX_LISTS,
  startDotdigitalSandbox,
} from '../../local/sandboxes/dotdigital';

export const PRIVATE_LIST = SANDBOX_LISTS.find((l) => !l.marketing)?.id as number;
export const CONFIRMED_PROGRAMME = 7001;

export function dotdigitalConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    ...sandboxConfigInput,
    connectors: {
      dotdigital: {
        enabled: true,
        secretName: 'marketbridge/dotdigital',
        listId: PRIVATE_LIST,
        programmes: { confirmed: CONFIRMED_PROGRAMME },
        ...overrides,
      },
    },
  });
}

export interface DotdigitalRig {
  sandbox: DotdigitalSandbox;
  config: Config;
  http: HttpClient;
  connector: Connector;
  close(): Promise<void>;
}

export async function startDotdigitalRig(
  options: { sandbox?: DotdigitalSandboxOptions; connector?: Record<string, unknown> } = {},
): Promise<DotdigitalRig> {
  const sandbox = await startDotdigitalSandbox(options.sandbox);
  const config = dotdigitalConfig({ baseUrl: sandbox.url, ...options.connector });
  const http = createHttpClient({
    timeoutMs: 500,
    retryAfter: dotdigitalRetryAfter,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
  });
  const connector = createDotdigitalConnector({
    config,
    http,
    credentials: async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD }),
    poll: { intervalMs: 1, timeoutMs: 2_000 },
  });
  let closed: Promise<void> | undefined;
  // Idempotent: a test may close its rig early and the suite's afterEach closes it again.
  return { sandbox, config, http, connector, close: () => (closed ??= sandbox.close()) };
}
