/**
 * A Dotdigital connector on loopback for tests and the benchmark: the sandbox, a configuration pointing at it,
 * and the connector on the shared HTTP layer with Dotdigital's rate-limit header (waits shrunk to milliseconds),
 * its pending enrolments and order leases in memory, and the scheduled enrolment run over the same ones.
 */
import { type Config, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { InMemoryLeaseStore } from '../../functions/shared/connector/lease';
import type { Connector } from '../../functions/shared/connector/runtime';
import type { ExceptionInput } from '../../functions/shared/exceptions';
import { createDotdigitalApi } from '../../functions/shared/dotdigital/api';
import { createDotdigitalConnector, dotdigitalRetryAfter } from '../../functions/shared/dotdigital/connector';
import {
  type EnrolmentRunResult,
  InMemoryEnrolmentStore,
  enrolmentCaller,
  enrolmentProgrammes,
  runEnrolments,
} from '../../functions/shared/dotdigital/enrolments';
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
        // The rig is one instance with a real-time pacer: the fewest instances sharing the allowance keeps it quick.
        maxConcurrency: 2,
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
  enrolments: InMemoryEnrolmentStore;
  leases: InMemoryLeaseStore;
  /** What the enrolment runs recorded in the inbox. */
  exceptions: ExceptionInput[];
  /** One scheduled enrolment run, at `now` (the sandbox's clock, when the test gave it one). */
  runEnrolments(now?: () => number): Promise<EnrolmentRunResult>;
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
  const credentials = async () => ({ username: DOTDIGITAL_SANDBOX_USER, password: DOTDIGITAL_SANDBOX_PASSWORD });
  const enrolments = new InMemoryEnrolmentStore();
  const leases = new InMemoryLeaseStore();
  const connector = createDotdigitalConnector({ config, http, credentials, enrolments, leases, poll: { intervalMs: 1, timeoutMs: 2_000 } });
  const exceptions: ExceptionInput[] = [];
  const enrol = enrolmentCaller(createDotdigitalApi({ config, http, credentials }));
  const runs = (now: () => number) =>
    runEnrolments({
      store: enrolments,
      leases,
      programmes: enrolmentProgrammes(config),
      enrol,
      exceptions: { record: async (e) => void exceptions.push(e) },
      now,
      sleep: async () => undefined,
    });
  let closed: Promise<void> | undefined;
  return {
    sandbox,
    config,
    http,
    connector,
    enrolments,
    leases,
    exceptions,
    runEnrolments: (now = options.sandbox?.now ?? Date.now) => runs(now),
    // Idempotent: a test may close its rig early and the suite's afterEach closes it again.
    close: () => (closed ??= sandbox.close()),
  };
}
