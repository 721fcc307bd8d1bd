/**
 * An SFMC connector on loopback for tests and the benchmark: the sandbox, a configuration whose data extensions
 * and journeys are the sandbox's, and the connector on the shared HTTP layer (waits shrunk to milliseconds).
 */
import { type Config, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { Connector } from '../../functions/shared/connector/runtime';
import { createHttpClient, type HttpClient } from '../../functions/shared/http';
import { CollectingExceptions } from '../../functions/shared/ingest/memory';
import { type SfmcConnectorDeps, createSfmcConnector } from '../../functions/shared/sfmc/connector';
import { MemoryJourneyLedger } from '../../functions/shared/sfmc/journeyLedger';
import { SFMC_SANDBOX_CLIENT, SFMC_SANDBOX_MID, type SfmcSandbox, type SfmcSandboxOptions, startSfmcSandbox } from '../../local/sandboxes/sfmc';

export const CONFIRMED_JOURNEY = 'APIEvent-marketbridge-order-confirmed';
export const SHIPPED_JOURNEY = 'APIEvent-marketbridge-order-shipped';

export function sfmcConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    ...sandboxConfigInput,
    connectors: {
      sfmc: {
        enabled: true,
        secretName: 'marketbridge/sfmc',
        subdomain: 'mc-sandbox',
        accountId: SFMC_SANDBOX_MID,
        journeys: { confirmed: { eventDefinitionKey: CONFIRMED_JOURNEY }, shipped: { eventDefinitionKey: SHIPPED_JOURNEY } },
        ...overrides,
      },
    },
  });
}

export interface SfmcRig {
  sandbox: SfmcSandbox;
  config: Config;
  http: HttpClient;
  connector: Connector;
  close(): Promise<void>;
}

export async function startSfmcRig(
  options: { sandbox?: SfmcSandboxOptions; connector?: Record<string, unknown>; pacer?: SfmcConnectorDeps['pacer'] } = {},
): Promise<SfmcRig> {
  const sandbox = await startSfmcSandbox(options.sandbox);
  const config = sfmcConfig({ baseUrl: sandbox.url, ...options.connector });
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));
  const http = createHttpClient({ timeoutMs: 500, sleep });
  const connector = createSfmcConnector({
    config,
    http,
    credentials: async () => SFMC_SANDBOX_CLIENT,
    journeys: new MemoryJourneyLedger(),
    exceptions: new CollectingExceptions(),
    poll: { intervalMs: 1, timeoutMs: 2_000 },
    sleep,
    ...(options.pacer ? { pacer: options.pacer } : {}),
  });
  let closed: Promise<void> | undefined;
  // Idempotent: a test may close its rig early and the suite's afterEach closes it again.
  return { sandbox, config, http, connector, close: () => (closed ??= sandbox.close()) };
}
