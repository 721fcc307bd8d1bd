/**
 * SFMC efficiency, measured by running the real connector against the SFMC sandbox: API calls per 1,000 orders
 * live (rowsets and journey entries per fact, one token) and as a history load (async upserts per batch with their
 * status polls, no journeys). Polls run on a virtual clock.
 */
import type { BusinessEvent } from '../functions/shared/events';
import { createHttpClient } from '../functions/shared/http';
import { createSfmcConnector } from '../functions/shared/sfmc/connector';
import { SFMC_SANDBOX_CLIENT, startSfmcSandbox } from '../local/sandboxes/sfmc';
import { sfmcConfig } from '../test/support/sfmcFixtures';
import { type BenchOptions, type BenchResult, benchOrderEvents, modeResult, virtualClock } from './dotdigital';

export async function benchSfmc(options: BenchOptions = {}): Promise<BenchResult> {
  const liveOrders = options.liveOrders ?? 1_000;
  const historyOrders = options.historyOrders ?? 20_000;
  const batchSize = options.batchSize ?? 500;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const clock = virtualClock();
  // No published per-second REST rate: the sandbox's own is lifted so the count measures the connector alone.
  const sandbox = await startSfmcSandbox({ now: clock.now, requestsPerSecond: 1_000_000 });
  try {
    // A fresh connector per mode, as a fresh Lambda: its one-time setup (and token) counts in each.
    const connect = () =>
      createSfmcConnector({
        config: sfmcConfig({ baseUrl: sandbox.url, bulk: 'auto' }),
        http: createHttpClient({ sleep: clock.sleep, now: clock.now }),
        credentials: async () => SFMC_SANDBOX_CLIENT,
        sleep: clock.sleep,
      });
    const connector = connect();
    const liveEvents = benchOrderEvents(liveOrders, afterSalesEvery, false);
    for (const event of liveEvents) await connector.deliverOne(event);
    const live = modeResult(sandbox.requests, liveOrders, liveEvents.length);

    sandbox.reset();
    const history = connect();
    const historyEvents = benchOrderEvents(historyOrders, afterSalesEvery, true);
    for (let i = 0; i < historyEvents.length; i += batchSize) {
      await (history.deliverMany as (events: BusinessEvent[]) => Promise<void>)(historyEvents.slice(i, i + batchSize));
    }
    return { live, history: modeResult(sandbox.requests, historyOrders, historyEvents.length) };
  } finally {
    await sandbox.close();
  }
}
