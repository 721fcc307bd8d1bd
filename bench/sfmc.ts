/**
 * SFMC efficiency and history-load rate, measured by running the real connector against the SFMC sandbox:
 *
 * - API calls per 1,000 orders live (rowsets and journey entries per fact, one token) and as a history load (async
 *   upserts per batch with their status polls, no journeys).
 * - The history load's REST rate over the limit the sandbox enforces (SFMC publishes none: the modelled
 *   `requestsPerMinute`), and the 429s it cost.
 *
 * A history load arrives as SQS batches of 500 records, taken by as many connector instances as the event source's
 * default maximum concurrency (2), each paced at its share of the budget and keeping its batch's upserts in flight
 * together (the default `historyInFlight`). An instance is bound by SFMC finishing its async upserts (status polls),
 * not by the budget. Time is virtual (./virtualTime): the instances' waits overlap as they would in real time.
 */
import { type Config, SFMC_MODELLED_REQUESTS_PER_MINUTE } from '../functions/shared/config';
import { createHttpClient } from '../functions/shared/http';
import { CollectingExceptions } from '../functions/shared/ingest/memory';
import { createSfmcConnector } from '../functions/shared/sfmc/connector';
import { MemoryJourneyLedger } from '../functions/shared/sfmc/journeyLedger';
import { sfmcPacer } from '../functions/shared/sfmc/pacing';
import { sfmcSettings } from '../functions/shared/sfmc/requests';
import { BULK_BATCHING } from '../lib/constructs/connector';
import { SFMC_SANDBOX_CLIENT, startSfmcSandbox } from '../local/sandboxes/sfmc';
import { sfmcConfig } from '../test/support/sfmcFixtures';
import { type BenchOptions, type ModeResult, benchOrderEvents, historyLoad, modeResult } from './dotdigital';
import { type RouteRate, rateAgainst } from './rates';
import { VirtualTime } from './virtualTime';

export interface SfmcBenchOptions extends BenchOptions {
  /** Concurrent connector instances taking the history load's batches; by default the default `maxConcurrency`. */
  instances?: number;
}

export interface SfmcBenchResult {
  live: ModeResult;
  history: ModeResult & { instances: number; rate: RouteRate | undefined };
}

export async function benchSfmc(options: SfmcBenchOptions = {}): Promise<SfmcBenchResult> {
  const liveOrders = options.liveOrders ?? 1_000;
  const historyOrders = options.historyOrders ?? 100_000;
  const batchSize = options.batchSize ?? BULK_BATCHING.batchSize;
  const afterSalesEvery = options.afterSalesEvery ?? 10;
  const instances = options.instances ?? sfmcSettings(sfmcConfig()).maxConcurrency;
  const time = new VirtualTime();
  // Each instance is its own client machine, with its one token a lifetime (SFMC's soft limit is per machine).
  const sandbox = await startSfmcSandbox({ now: time.now, clientMachines: instances, requestsPerMinute: SFMC_MODELLED_REQUESTS_PER_MINUTE });
  const connect = (config: Config, instancesSharing: number) =>
    createSfmcConnector({
      config,
      http: createHttpClient({ sleep: time.sleep, now: time.now, fetch: time.fetch }),
      credentials: async () => SFMC_SANDBOX_CLIENT,
      journeys: new MemoryJourneyLedger(),
      exceptions: new CollectingExceptions(),
      sleep: time.sleep,
      pacer: sfmcPacer(sfmcSettings(config), time, instancesSharing),
    });
  try {
    // Live: one instance using the whole budget (maxConcurrency splits it in production).
    const live = connect(sfmcConfig({ baseUrl: sandbox.url, bulk: 'auto' }), 1);
    const liveEvents = benchOrderEvents(liveOrders, afterSalesEvery, false);
    for (const event of liveEvents) await live.deliverOne(event);
    const liveResult = modeResult(sandbox.requests, liveOrders, liveEvents.length);

    sandbox.reset();
    const historyConfig = sfmcConfig({ baseUrl: sandbox.url, bulk: 'auto', maxConcurrency: instances });
    const historyEvents = benchOrderEvents(historyOrders, afterSalesEvery, true);
    await historyLoad(time, instances, historyEvents, batchSize, () => connect(historyConfig, instances));
    const rate = rateAgainst(sandbox.requests, (route) => route !== 'token', sandbox.requestsPerMinute);
    return { live: liveResult, history: { ...modeResult(sandbox.requests, historyOrders, historyEvents.length), instances, rate } };
  } finally {
    await sandbox.close();
  }
}
