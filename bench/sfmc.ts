/**
 * SFMC efficiency, measured by running the real connector against the SFMC sandbox: API calls per 1,000 orders
 * live (rowsets and journey entries per fact, one token) and as a history load (async upserts per batch with their
 * status polls, no journeys). Polls run on a virtual clock.
 */
import { createHttpClient } from '../functions/shared/http';
import { CollectingExceptions } from '../functions/shared/ingest/memory';
import { createSfmcConnector } from '../functions/shared/sfmc/connector';
import { MemoryJourneyLedger } from '../functions/shared/sfmc/journeyLedger';
import { SFMC_SANDBOX_CLIENT, startSfmcSandbox } from '../local/sandboxes/sfmc';
import { sfmcConfig } from '../test/support/sfmcFixtures';
import { type BenchOptions, type BenchResult, measure, virtualClock } from './dotdigital';

export async function benchSfmc(options: BenchOptions = {}): Promise<BenchResult> {
  const clock = virtualClock();
  // No published per-second REST rate: the sandbox's own is lifted so the count measures the connector alone.
  const sandbox = await startSfmcSandbox({ now: clock.now, requestsPerSecond: 1_000_000 });
  const connect = () =>
    createSfmcConnector({
      config: sfmcConfig({ baseUrl: sandbox.url, bulk: 'auto' }),
      http: createHttpClient({ sleep: clock.sleep, now: clock.now }),
      credentials: async () => SFMC_SANDBOX_CLIENT,
      journeys: new MemoryJourneyLedger(),
      exceptions: new CollectingExceptions(),
      sleep: clock.sleep,
    });
  return measure(sandbox, connect, options, 20_000);
}
