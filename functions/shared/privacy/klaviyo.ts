/**
 * Erasing a buyer from Klaviyo. The data-privacy deletion job takes only `email`, `phone_number` or Klaviyo's own
 * profile `id`, and MarketBridge keys profiles by `external_id`; so the profile is found first
 * (`GET /api/profiles?filter=equals(external_id,"…")`), then a deletion job is requested for each id found.
 * No profile found means nothing to erase. Both calls are paced under their published limits.
 */
import { PermanentError } from '../connector/failures';
import { RatePacer, type RateLimit, shareOf } from '../connector/pacer';
import { HttpError, type HttpClient } from '../http';

/** Paths and limits from stable.json (`get_profiles`, `request_profile_deletion`, `x-klaviyo-ratelimit`). */
export const KLAVIYO_ERASURE_OPERATIONS = {
  getProfiles: { path: '/api/profiles', limit: { perSecond: 75, perMinute: 750 } },
  requestProfileDeletion: { path: '/api/data-privacy-deletion-jobs', limit: { perSecond: 3, perMinute: 60 } },
} as const;
type ErasureOperation = keyof typeof KLAVIYO_ERASURE_OPERATIONS;

export function profileDeletionBody(profileId: string) {
  return {
    data: {
      type: 'data-privacy-deletion-job',
      attributes: { profile: { data: { type: 'profile', id: profileId, attributes: {} } } },
    },
  };
}

/** Klaviyo's filter syntax quotes strings with double quotes and backslash escapes. */
export function externalIdFilter(identity: string): string {
  return `equals(external_id,${JSON.stringify(identity)})`;
}

export interface KlaviyoEraserDeps {
  http: HttpClient;
  baseUrl: string;
  headers(): Promise<Record<string, string>>;
  /** The share of Klaviyo's limits this instance may use. */
  utilisation: number;
  instances: number;
}

export function klaviyoEraser(deps: KlaviyoEraserDeps): (identity: string) => Promise<void> {
  const limits = Object.fromEntries(Object.entries(KLAVIYO_ERASURE_OPERATIONS).map(([op, { limit }]) => [op, limit])) as Record<
    ErasureOperation,
    RateLimit
  >;
  const pacer = new RatePacer(shareOf(limits, deps.utilisation, deps.instances));
  const url = (op: ErasureOperation) => new URL(KLAVIYO_ERASURE_OPERATIONS[op].path, deps.baseUrl);

  async function request(op: ErasureOperation, init: { query?: Record<string, string>; body?: unknown }) {
    try {
      return await deps.http.request({
        operation: `klaviyo.${op}`,
        beforeAttempt: () => pacer.take(op),
        method: init.body === undefined ? 'GET' : 'POST',
        url: url(op),
        headers: await deps.headers(),
        ...(init.query ? { query: init.query } : {}),
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    } catch (error) {
      if (error instanceof HttpError && !error.retryable) throw new PermanentError(error.message, { cause: error });
      throw error;
    }
  }

  return async (identity) => {
    const found = await request('getProfiles', { query: { filter: externalIdFilter(identity) } });
    const profiles = ((found.json as { data?: { id?: unknown }[] } | undefined)?.data ?? []).flatMap((p) =>
      typeof p.id === 'string' ? [p.id] : [],
    );
    for (const id of profiles) await request('requestProfileDeletion', { body: profileDeletionBody(id) });
  };
}
