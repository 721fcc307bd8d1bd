/**
 * Dotdigital pacing: tiered rate limiting puts each call in a tier with its own per-minute allowance for the account
 * (`connectors.dotdigital.requestsPerMinute`); every call takes a turn under its tier's share, so a history load
 * runs its bulk imports (tier `low`) close to the allowance instead of finding it by 429.
 */
import type { DotdigitalConnectorConfig } from '../config';
import { type PacerOptions, type RatePacer, perMinutePacer } from '../connector/pacer';
import type { HttpClient } from '../http';

/** Headroom under the allowance: other integrations of the same account share it. */
export const DOTDIGITAL_PACE_UTILISATION = 0.95;

export type DotdigitalTier = keyof DotdigitalConnectorConfig['requestsPerMinute'];

/** Bulk imports and enrolments are the low tier (reference B.9); reads the high one; writes and setup the medium. */
const LOW_TIER = new Set(['importContacts', 'importInsight', 'enrol']);
const HIGH_TIER = new Set(['accountInfo', 'getContact', 'getRecord', 'listCollections', 'listRecords', 'contactImportStatus', 'insightImportStatus']);

/** The tier of a call, by its operation name (`dotdigital.{operation}`). */
export function dotdigitalTierOf(operation: string): DotdigitalTier {
  const name = operation.replace(/^dotdigital\./, '');
  if (LOW_TIER.has(name)) return 'low';
  return HIGH_TIER.has(name) ? 'high' : 'medium';
}

/** One instance's share of each tier: split over `instances` (by default the event source's concurrency). */
export function dotdigitalPacer(
  settings: Pick<DotdigitalConnectorConfig, 'requestsPerMinute' | 'maxConcurrency'>,
  clock: PacerOptions = {},
  instances = settings.maxConcurrency,
): RatePacer<DotdigitalTier> {
  return perMinutePacer(settings.requestsPerMinute, DOTDIGITAL_PACE_UTILISATION, instances, clock);
}

/** Every attempt of every request (a retry is a request Dotdigital counts) waits for its tier's turn first. */
export function pacedHttp(http: HttpClient, pacer: Pick<RatePacer<DotdigitalTier>, 'take'>): HttpClient {
  return {
    request(request) {
      const tier = dotdigitalTierOf(request.operation);
      const own = request.beforeAttempt;
      return http.request({ ...request, beforeAttempt: async () => (await own?.(), pacer.take(tier)) });
    },
  };
}
