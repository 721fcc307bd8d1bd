/**
 * The Klaviyo connector: sends the requests `klaviyoRequestsFor` / `bulkRequests` plan, with the real API key,
 * through the shared HTTP layer, paced under Klaviyo's per-endpoint limits.
 */
import type { Config } from '../config';
import type { Connector } from '../connector/runtime';
import { PermanentError } from '../connector/failures';
import { RatePacer, type RateLimit, shareOf } from '../connector/pacer';
import type { BusinessEvent } from '../events';
import { isErasure } from '../privacy/erasure';
import { klaviyoEraser } from '../privacy/klaviyo';
import { HttpError, type HttpClient } from '../http';
import {
  KLAVIYO_BASE_URL,
  KLAVIYO_OPERATIONS,
  type KlaviyoOperation,
  type PlannedRequest,
  bulkRequests,
  klaviyoHeaders,
  klaviyoRequestsFor,
  klaviyoSettings,
  klaviyoWorkForConfig,
  operationOf,
} from './requests';

/**
 * Klaviyo acknowledges writes quickly (202). In-process retries stay well inside the function timeout (worst case
 * 3 × 5 s + 2 × 10 s per call); longer waits are the queue's job: the record fails and SQS redelivers it later.
 */
export const KLAVIYO_HTTP = { timeoutMs: 5_000, retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 } };

/** Headroom under the published limits: other clients of the same Klaviyo account share the quota. */
export const KLAVIYO_PACE_UTILISATION = 0.95;

export const PUBLISHED_LIMITS = Object.fromEntries(
  Object.entries(KLAVIYO_OPERATIONS).map(([op, { limit }]) => [op, limit]),
) as Record<KlaviyoOperation, RateLimit>;

export interface KlaviyoConnectorDeps {
  config: Config;
  http: HttpClient;
  apiKey(): Promise<string>;
  /** Defaults to this instance's share of the published limits (split over the event source's concurrency). */
  pacer?: RatePacer<KlaviyoOperation>;
}

/** Klaviyo's JSON:API error code and pointer: enough to fix the mapping, free of the values that were sent. */
function klaviyoErrorCode(error: HttpError): string | undefined {
  try {
    const first = (JSON.parse(error.bodySnippet ?? '') as { errors?: { code?: string; source?: { pointer?: string } }[] })
      .errors?.[0];
    if (!first?.code) return undefined;
    return first.source?.pointer ? `${first.code} at ${first.source.pointer}` : first.code;
  } catch {
    // A truncated or non-JSON body: the status alone must do.
    return undefined;
  }
}

function mapped<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    throw new PermanentError(`cannot map the event for Klaviyo: ${(error as Error).message}`);
  }
}

export function createKlaviyoConnector(deps: KlaviyoConnectorDeps): Connector {
  const settings = klaviyoSettings(deps.config);
  const baseUrl = settings.baseUrl ?? KLAVIYO_BASE_URL;
  const pacer =
    deps.pacer ?? new RatePacer(shareOf(PUBLISHED_LIMITS, KLAVIYO_PACE_UTILISATION, settings.maxConcurrency));

  async function send(requests: PlannedRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const headers = klaviyoHeaders(await deps.apiKey());
    for (const request of requests) {
      const operation = operationOf(request.url);
      try {
        await deps.http.request({
          operation: `klaviyo.${operation}`,
          beforeAttempt: () => pacer.take(operation),
          method: request.method,
          url: request.url,
          headers,
          body: JSON.stringify(request.body),
        });
      } catch (error) {
        if (error instanceof HttpError && !error.retryable) {
          const code = klaviyoErrorCode(error);
          throw new PermanentError(code ? `${error.message}: ${code}` : error.message, { cause: error });
        }
        throw error;
      }
    }
  }

  const erase = klaviyoEraser({
    http: deps.http,
    baseUrl,
    headers: async () => klaviyoHeaders(await deps.apiKey()),
    utilisation: KLAVIYO_PACE_UTILISATION,
    instances: settings.maxConcurrency,
  });

  return {
    deliverOne: (event) =>
      isErasure(event) ? erase(event.detail.identity) : send(mapped(() => klaviyoRequestsFor(event, deps.config))),
    deliverMany: (events: BusinessEvent[]) =>
      send(mapped(() => bulkRequests(events.map((e) => klaviyoWorkForConfig(e, deps.config)), baseUrl))),
    prefersBulk: (events) =>
      settings.bulk === 'always' ||
      (settings.bulk === 'auto' && (events.length >= settings.bulkMinRecords || events.some((e) => e.detail.backfill))),
  };
}
