/**
 * Klaviyo HTTP requests for mapped work: single calls (profile-import, create event) for live traffic, bulk jobs
 * (profile bulk import, event bulk create) for backlogs and history loads. The same builders feed the `plan` dry
 * run (secret masked) and the connector (real key), so what `plan` prints is what is sent.
 */
import type { PlannedRequest as SharedPlannedRequest } from '../connector/plannedRequest';
import { type Config, type KlaviyoConnectorConfig, KlaviyoConnectorSchema, marketplaceById } from '../config';
import type { BusinessEvent } from '../events';
import { KLAVIYO, type KlaviyoEvent, type KlaviyoProfile, type KlaviyoWork, klaviyoWorkFor } from './mapping';

export const KLAVIYO_REVISION = '2026-07-15';
export const KLAVIYO_BASE_URL = 'https://a.klaviyo.com';
export const MASKED_API_KEY = '***';

/** Limits from stable.json (`x-klaviyo-ratelimit`, request descriptions); a test keeps them in step with the spec. */
export const KLAVIYO_OPERATIONS = {
  createEvent: { path: '/api/events', limit: { perSecond: 350, perMinute: 3500 } },
  bulkCreateEvents: { path: '/api/event-bulk-create-jobs', limit: { perSecond: 10, perMinute: 150 } },
  upsertProfile: { path: '/api/profile-import', limit: { perSecond: 75, perMinute: 750 } },
  bulkImportProfiles: { path: '/api/profile-bulk-import-jobs', limit: { perSecond: 10, perMinute: 150 } },
} as const;
export type KlaviyoOperation = keyof typeof KLAVIYO_OPERATIONS;

export const BULK_LIMITS = {
  eventsPerRequest: 1_000,
  profilesPerRequest: 10_000,
  bytesPerRequest: 5 * 1024 * 1024,
} as const;

export type PlannedRequest = SharedPlannedRequest<typeof KLAVIYO, 'POST'>;

export function klaviyoHeaders(apiKey: string): Record<string, string> {
  return {
    Authorization: `Klaviyo-API-Key ${apiKey}`,
    revision: KLAVIYO_REVISION,
    accept: 'application/vnd.api+json',
    'content-type': 'application/vnd.api+json',
  };
}

export function operationOf(url: string): KlaviyoOperation {
  const path = new URL(url).pathname;
  const found = (Object.keys(KLAVIYO_OPERATIONS) as KlaviyoOperation[]).find((op) =>
    path.endsWith(KLAVIYO_OPERATIONS[op].path),
  );
  if (!found) throw new Error(`not a Klaviyo operation MarketBridge uses: ${path}`);
  return found;
}

/** The Klaviyo options in force: the configured ones, or the defaults when the connector is not configured. */
export function klaviyoSettings(config: Config): KlaviyoConnectorConfig {
  return config.connectors.klaviyo ?? KlaviyoConnectorSchema.parse({});
}

function request(baseUrl: string, op: KlaviyoOperation, body: unknown): PlannedRequest {
  const url = `${baseUrl.replace(/\/+$/, '')}${KLAVIYO_OPERATIONS[op].path}`;
  return { connector: KLAVIYO, method: 'POST', url, headers: klaviyoHeaders(MASKED_API_KEY), body };
}

const profileRef = (externalId: string) => ({ data: { type: 'profile', attributes: { external_id: externalId } } });

function eventAttributes(event: KlaviyoEvent, backfill: boolean) {
  return {
    metric: { data: { type: 'metric', attributes: { name: event.metric } } },
    properties: event.properties,
    time: event.time,
    ...(event.value === undefined ? {} : { value: event.value }),
    value_currency: event.value_currency,
    unique_id: event.unique_id,
    backfill,
  };
}

/** Live form: profile-import when the work carries a profile, then one create-event call per event. */
export function singleRequests(work: KlaviyoWork, baseUrl: string): PlannedRequest[] {
  const requests: PlannedRequest[] = [];
  if (work.profile) {
    requests.push(request(baseUrl, 'upsertProfile', { data: { type: 'profile', attributes: work.profile } }));
  }
  for (const event of work.events) {
    const attributes = { ...eventAttributes(event, work.backfill), profile: profileRef(work.externalId) };
    requests.push(request(baseUrl, 'createEvent', { data: { type: 'event', attributes } }));
  }
  return requests;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Greedy packing under a count and a byte limit; `overhead` is the envelope's size. */
function pack<T>(items: T[], maxCount: number, maxBytes: number, overhead: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = overhead;
  for (const entry of items) {
    const entrySize = bytes(entry) + 1;
    if (current.length > 0 && (current.length >= maxCount || size + entrySize > maxBytes)) {
      chunks.push(current);
      current = [];
      size = overhead;
    }
    current.push(entry);
    size += entrySize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const ENVELOPE_BYTES = 512;

/**
 * Bulk form for many works: profile bulk import (≤ 10,000 profiles, ≤ 5 MB) and event bulk create (≤ 1,000
 * events, ≤ 5 MB). A repeated unique_id for one profile and metric fails a whole bulk request, so duplicates are
 * dropped here; a profile's events may span requests.
 */
export function bulkRequests(works: KlaviyoWork[], baseUrl: string): PlannedRequest[] {
  const profiles = new Map<string, KlaviyoProfile>();
  const seen = new Set<string>();
  const flat: { externalId: string; attributes: ReturnType<typeof eventAttributes> }[] = [];
  for (const work of works) {
    if (work.profile) profiles.set(work.externalId, { ...profiles.get(work.externalId), ...work.profile });
    for (const event of work.events) {
      const key = JSON.stringify([work.externalId, event.metric, event.unique_id]);
      if (seen.has(key)) continue;
      seen.add(key);
      flat.push({ externalId: work.externalId, attributes: eventAttributes(event, work.backfill) });
    }
  }
  const requests: PlannedRequest[] = [];
  const profileEntries = [...profiles.values()].map((attributes) => ({ type: 'profile', attributes }));
  for (const chunk of pack(profileEntries, BULK_LIMITS.profilesPerRequest, BULK_LIMITS.bytesPerRequest, ENVELOPE_BYTES)) {
    requests.push(
      request(baseUrl, 'bulkImportProfiles', {
        data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: chunk } } },
      }),
    );
  }
  for (const chunk of pack(flat, BULK_LIMITS.eventsPerRequest, BULK_LIMITS.bytesPerRequest, ENVELOPE_BYTES)) {
    const byProfile = new Map<string, (typeof chunk)[number]['attributes'][]>();
    for (const e of chunk) byProfile.set(e.externalId, [...(byProfile.get(e.externalId) ?? []), e.attributes]);
    const data = [...byProfile].map(([externalId, list]) => ({
      type: 'event-bulk-create',
      attributes: {
        profile: profileRef(externalId),
        events: { data: list.map((attributes) => ({ type: 'event', attributes })) },
      },
    }));
    requests.push(
      request(baseUrl, 'bulkCreateEvents', {
        data: { type: 'event-bulk-create-job', attributes: { 'events-bulk-create': { data } } },
      }),
    );
  }
  return requests;
}

export function klaviyoWorkForConfig(
  event: BusinessEvent,
  config: Config,
  mode: { backfill?: boolean } = {},
): KlaviyoWork {
  return klaviyoWorkFor(event, marketplaceById(config, event.detail.marketplace), klaviyoSettings(config), mode);
}

/**
 * The Klaviyo requests one business event causes, as `plan` prints them (API key masked): single calls by default,
 * the bulk form with `backfill` (history loads set Klaviyo's `backfill` flag so flows do not fire).
 */
export function klaviyoRequestsFor(
  event: BusinessEvent,
  config: Config,
  options: { backfill?: boolean } = {},
): PlannedRequest[] {
  const work = klaviyoWorkForConfig(event, config, options);
  const settings = klaviyoSettings(config);
  const baseUrl = settings.baseUrl ?? KLAVIYO_BASE_URL;
  return work.backfill && settings.bulk !== 'never' ? bulkRequests([work], baseUrl) : singleRequests(work, baseUrl);
}
