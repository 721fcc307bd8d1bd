/**
 * SFMC REST pacing: every REST call (token requests apart, they have their own once-per-lifetime rule) takes a turn
 * under one account-wide per-minute budget, `connectors.sfmc.requestsPerMinute`. SFMC publishes no such rate (see
 * SFMC_MODELLED_REQUESTS_PER_MINUTE); pacing under the account's agreed figure keeps a history load from being the
 * traffic that gets the account throttled (429 errorcode 50100).
 */
import type { SfmcConnectorConfig } from '../config';
import { type PacerOptions, type RatePacer, perMinutePacer } from '../connector/pacer';

/** Headroom under the budget: other integrations of the same account share it. */
export const SFMC_PACE_UTILISATION = 0.95;

export type SfmcPacedOperation = 'rest';

/** One instance's share of the budget: split over `instances` (by default the event source's concurrency). */
export function sfmcPacer(
  settings: Pick<SfmcConnectorConfig, 'requestsPerMinute' | 'maxConcurrency'>,
  clock: PacerOptions = {},
  instances = settings.maxConcurrency,
): RatePacer<SfmcPacedOperation> {
  return perMinutePacer({ rest: settings.requestsPerMinute }, SFMC_PACE_UTILISATION, instances, clock);
}
