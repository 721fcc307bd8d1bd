/**
 * SFMC HTTP requests for mapped work: the synchronous rowset upsert (≤ 50 rows a call) and single journey entry
 * events for live traffic; the asynchronous data extension upsert (≤ 32,000 rows a call) and batched journey
 * entry (≤ 100 contacts a call) for backlogs and history loads. The same builders feed `plan` (token masked, the
 * REST host derived from the subdomain) and the connector (the token's `rest_instance_url`).
 */
import { type Config, type SfmcConnectorConfig, SfmcConnectorSchema, marketplaceById } from '../config';
import type { BusinessEvent } from '../events';
import type { PlannedRequest as SharedPlannedRequest } from '../connector/plannedRequest';
import { DATA_EXTENSION_ORDER, type JourneyEntry, SFMC, type SfmcRow, type SfmcWork, sfmcWorkFor } from './mapping';

export const MASKED_TOKEN = '***';

/** Documented limits (SFMC API limits page, data extension and journey references). */
export const SFMC_LIMITS = {
  /** Best practice for the synchronous rowset: at most 50 rows a call. */
  syncRows: 50,
  /** Hard limit of an asynchronous data extension request. */
  asyncRows: 32_000,
  /** Batched journey entry: at most 100 contacts a request. */
  journeyBatch: 100,
  /** Maximum request payload. */
  bytesPerRequest: 5 * 1024 * 1024,
} as const;

export type SfmcMethod = 'POST' | 'PUT' | 'GET';

/** The `plan` line shape Klaviyo established, for SFMC's verbs. */
export type PlannedRequest = SharedPlannedRequest<typeof SFMC, SfmcMethod>;

export function sfmcSettings(config: Config): SfmcConnectorConfig {
  return config.connectors.sfmc ?? SfmcConnectorSchema.parse({});
}

/** The tenant's auth base URI: the configured one, else `https://{subdomain}.auth.marketingcloudapis.com`. */
export function authBaseUrl(settings: SfmcConnectorConfig): string {
  return (settings.baseUrl ?? `https://${settings.subdomain ?? 'your-subdomain'}.auth.marketingcloudapis.com`).replace(/\/+$/, '');
}

/** Where `plan` shows REST calls going; at run time the token's `rest_instance_url` decides. */
export function plannedRestUrl(settings: SfmcConnectorConfig): string {
  return settings.baseUrl?.replace(/\/+$/, '') ?? `https://${settings.subdomain ?? 'your-subdomain'}.rest.marketingcloudapis.com`;
}

export const sfmcHeaders = (token: string): Record<string, string> => ({
  Authorization: `Bearer ${token}`,
  accept: 'application/json',
  // SFMC documents the charset for payloads with UTF-8 characters (names, product titles).
  'content-type': 'application/json; charset=UTF-8',
});

const seg = encodeURIComponent;
export const paths = {
  token: () => '/v2/token',
  rowset: (key: string) => `/hub/v1/dataevents/key:${seg(key)}/rowset`,
  asyncUpsert: (key: string) => `/data/v1/async/dataextensions/key:${seg(key)}/rows`,
  asyncStatus: (requestId: string) => `/data/v1/async/${seg(requestId)}/status`,
  asyncResults: (requestId: string) => `/data/v1/async/${seg(requestId)}/results`,
  journeyEvent: () => '/interaction/v1/events',
  journeyBatch: () => '/interaction/v1/async/events',
  contactDelete: () => '/contacts/v1/contacts/actions/delete?type=keys',
};

export function request(baseUrl: string, method: SfmcMethod, path: string, body?: unknown): PlannedRequest {
  return { connector: SFMC, method, url: `${baseUrl.replace(/\/+$/, '')}${path}`, headers: sfmcHeaders(MASKED_TOKEN), body };
}

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Rows of several works per data extension; a later row for the same keys wins (the later fact is newer). */
function rowsByExtension(works: SfmcWork[]): Map<keyof SfmcConnectorConfig['dataExtensions'], SfmcRow[]> {
  const result = new Map<keyof SfmcConnectorConfig['dataExtensions'], SfmcRow[]>();
  for (const de of DATA_EXTENSION_ORDER) {
    const byKey = new Map<string, SfmcRow>();
    for (const work of works) {
      for (const row of work.rows[de]) {
        const id = JSON.stringify(row.keys);
        const previous = byKey.get(id);
        byKey.set(id, { keys: row.keys, values: { ...previous?.values, ...row.values } });
      }
    }
    if (byKey.size > 0) result.set(de, [...byKey.values()]);
  }
  return result;
}

export const journeyBody = (entry: JourneyEntry) => ({
  ContactKey: entry.contactKey,
  EventDefinitionKey: entry.eventDefinitionKey,
  Data: entry.data,
});

/** A work that enters a journey. */
export type JourneyWork = SfmcWork & { journey: JourneyEntry };
export const journeyWorks = (works: SfmcWork[]): JourneyWork[] => works.filter((w): w is JourneyWork => w.journey !== undefined);

/** Rowsets per data extension (customers, orders, lines), ≤ 50 rows each. */
export function rowsetRequests(works: SfmcWork[], baseUrl: string, settings: SfmcConnectorConfig): PlannedRequest[] {
  return [...rowsByExtension(works)].flatMap(([de, rows]) =>
    chunks(rows, SFMC_LIMITS.syncRows).map((chunk) => request(baseUrl, 'POST', paths.rowset(settings.dataExtensions[de]), chunk)),
  );
}

/** Async upserts of flat rows per data extension, ≤ 32,000 each. */
export function asyncUpsertRequests(works: SfmcWork[], baseUrl: string, settings: SfmcConnectorConfig): PlannedRequest[] {
  return [...rowsByExtension(works)].flatMap(([de, rows]) =>
    chunks(
      rows.map((row) => ({ ...row.values, ...row.keys })),
      SFMC_LIMITS.asyncRows,
    ).map((chunk) => request(baseUrl, 'PUT', paths.asyncUpsert(settings.dataExtensions[de]), { items: chunk })),
  );
}

/** The single entry event of each work that enters a journey. */
const journeyEventRequests = (works: SfmcWork[], baseUrl: string): PlannedRequest[] =>
  journeyWorks(works).map((work) => request(baseUrl, 'POST', paths.journeyEvent(), journeyBody(work.journey)));

/** Works entering journeys, grouped per event definition in batches of ≤ 100 (the batched entry's limit). */
export function journeyBatches(works: SfmcWork[]): JourneyWork[][] {
  const byDefinition = new Map<string, JourneyWork[]>();
  for (const work of journeyWorks(works)) {
    byDefinition.set(work.journey.eventDefinitionKey, [...(byDefinition.get(work.journey.eventDefinitionKey) ?? []), work]);
  }
  return [...byDefinition.values()].flatMap((group) => chunks(group, SFMC_LIMITS.journeyBatch));
}

/** One batched entry request for a batch of `journeyBatches` (members in the batch's order). */
export const journeyBatchRequest = (batch: JourneyWork[], baseUrl: string): PlannedRequest =>
  request(baseUrl, 'POST', paths.journeyBatch(), {
    eventDefinitionKey: batch[0]?.journey.eventDefinitionKey,
    members: batch.map(({ journey }) => ({ contactKey: journey.contactKey, data: journey.data })),
  });

/** Live form: rowsets per data extension (customers, orders, lines), then the journey entries, if any. */
export const syncRequests = (works: SfmcWork[], baseUrl: string, settings: SfmcConnectorConfig): PlannedRequest[] => [
  ...rowsetRequests(works, baseUrl, settings),
  ...journeyEventRequests(works, baseUrl),
];

/** Backlog and history form: async upserts of flat rows, then batched journey entry per event definition. */
export const asyncRequests = (works: SfmcWork[], baseUrl: string, settings: SfmcConnectorConfig): PlannedRequest[] => [
  ...asyncUpsertRequests(works, baseUrl, settings),
  ...journeyBatches(works).map((batch) => journeyBatchRequest(batch, baseUrl)),
];

export function sfmcWorkForConfig(event: BusinessEvent, config: Config, mode: { backfill?: boolean } = {}): SfmcWork {
  return sfmcWorkFor(event, marketplaceById(config, event.detail.marketplace), sfmcSettings(config), mode);
}

/**
 * The SFMC requests one business event causes, as `plan` prints them (token masked; the token request itself is
 * left out, it is made once per ~20 minutes, not per event): rowsets by default, async upserts with `backfill`.
 */
export function sfmcRequestsFor(event: BusinessEvent, config: Config, options: { backfill?: boolean } = {}): PlannedRequest[] {
  const settings = sfmcSettings(config);
  const work = sfmcWorkForConfig(event, config, options);
  const baseUrl = plannedRestUrl(settings);
  return work.backfill && settings.bulk !== 'never' ? asyncRequests([work], baseUrl, settings) : syncRequests([work], baseUrl, settings);
}
