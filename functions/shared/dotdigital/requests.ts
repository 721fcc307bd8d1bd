/**
 * Dotdigital HTTP requests for mapped work: v3 contact PATCH and insight record PUT for live traffic, the async
 * contact and insight imports for backlogs and history loads, plus the account-level setup (custom identifier,
 * data fields, the `orders` collection). The same builders feed `plan` (credentials masked) and the connector.
 */
import { type Config, type DotdigitalConnectorConfig, DotdigitalConnectorSchema, marketplaceById } from '../config';
import type { BusinessEvent } from '../events';
import type { PlannedRequest as SharedPlannedRequest } from '../connector/plannedRequest';
import { DOTDIGITAL, type DotdigitalOptions, type DotdigitalWork, type OrderRecordJson, dotdigitalWorkFor, mergeOrderRecord } from './mapping';

/** Region discovery works from any region; the account's own endpoint comes back as `ApiEndpoint`. */
export const DOTDIGITAL_DISCOVERY_URL = 'https://r1-api.dotdigital.com';
export const MASKED_CREDENTIALS = '***';
/** Our own chunk size for the async imports: well under any payload ceiling, and one status poll per chunk. */
export const IMPORT_MAX_RECORDS = 1_000;

export type DotdigitalMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type PlannedRequest = SharedPlannedRequest<typeof DOTDIGITAL, DotdigitalMethod>;

export interface Credentials {
  username: string;
  password: string;
}

export function dotdigitalHeaders(credentials: Credentials | typeof MASKED_CREDENTIALS): Record<string, string> {
  const basic =
    credentials === MASKED_CREDENTIALS
      ? MASKED_CREDENTIALS
      : Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
  return { Authorization: `Basic ${basic}`, accept: 'application/json', 'content-type': 'application/json' };
}

export function dotdigitalSettings(config: Config): DotdigitalConnectorConfig {
  return config.connectors.dotdigital ?? DotdigitalConnectorSchema.parse({});
}

/** `plan` works on an unconfigured list id too: 0 stands out as "not configured" in its output. */
export function dotdigitalOptions(settings: DotdigitalConnectorConfig): DotdigitalOptions {
  return { ...settings, listId: settings.listId ?? 0 };
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;
const seg = encodeURIComponent;

export const paths = {
  accountInfo: () => '/v2/account-info',
  dataFields: () => '/v2/data-fields',
  customIdentifiers: () => '/configuration/v3/customIdentifiers',
  collections: () => '/insightData/v3/collections',
  /** Every contact's records of a collection, a page at a time. */
  collectionRecords: (name: string, limit: number, marker?: string) =>
    `/insightData/v3/contacts/${seg(name)}?limit=${limit}${marker ? `&marker=${seg(marker)}` : ''}`,
  collection: (name: string) => `/insightData/v3/collections/${seg(name)}?collectionScope=contact&collectionType=orders`,
  contact: (identifier: string, value: string) => `/contacts/v3/${seg(identifier)}/${seg(value)}`,
  record: (identifier: string, value: string, collection: string, key: string) =>
    `/insightData/v3/contacts/${seg(identifier)}/${seg(value)}/${seg(collection)}/${seg(key)}`,
  contactImport: () => '/contacts/v3/import',
  contactImportStatus: (id: string) => `/contacts/v3/import/${seg(id)}`,
  insightImport: () => '/insightData/v3/import',
  insightImportStatus: (id: string) => `/insightData/v3/import/${seg(id)}`,
  enrolment: () => '/v2/programs/enrolments',
};

export function request(baseUrl: string, method: DotdigitalMethod, path: string, body?: unknown): PlannedRequest {
  return { connector: DOTDIGITAL, method, url: join(baseUrl, path), headers: dotdigitalHeaders(MASKED_CREDENTIALS), body };
}

/** Live form: upsert the contact first (insight data needs it to exist), then write the order record. */
export function singleRequests(work: DotdigitalWork, baseUrl: string, collection: string, stored?: OrderRecordJson): PlannedRequest[] {
  const { identifier, value } = work.identity;
  return [
    request(baseUrl, 'PATCH', paths.contact(identifier, value), work.contact),
    request(baseUrl, 'PUT', paths.record(identifier, value, collection, work.record.key), mergeOrderRecord(stored, work.record.json)),
  ];
}

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** Identifies one order record of one contact across works. */
export const recordRef = (work: DotdigitalWork) => JSON.stringify([work.identity.identifier, work.identity.value, work.record.key]);

/**
 * Bulk form: one contact import, then one insight import per chunk. A contact appearing in several works is sent
 * once; an order's facts are folded into one record per key, onto the stored record when one was read (an import
 * replaces records whole, so what earlier batches added must be carried over).
 */
export function bulkRequests(
  works: DotdigitalWork[],
  baseUrl: string,
  collection: string,
  stored: ReadonlyMap<string, OrderRecordJson> = new Map(),
): PlannedRequest[] {
  const contacts = new Map<string, { matchIdentifier: string; identifiers: Record<string, string>; dataFields: Record<string, string | boolean>; lists: [number] }>();
  const records = new Map<string, { contactIdentity: { identifier: string; value: string }; key: string; json: OrderRecordJson }>();
  for (const work of works) {
    const id = JSON.stringify([work.identity.identifier, work.identity.value]);
    const previous = contacts.get(id);
    contacts.set(id, {
      matchIdentifier: work.identity.identifier,
      identifiers: { ...previous?.identifiers, ...work.contact.identifiers },
      dataFields: { ...previous?.dataFields, ...work.contact.dataFields },
      lists: work.contact.lists,
    });
    const ref = recordRef(work);
    records.set(ref, {
      contactIdentity: work.identity,
      key: work.record.key,
      json: mergeOrderRecord(records.get(ref)?.json ?? stored.get(ref), work.record.json),
    });
  }
  const requests: PlannedRequest[] = [];
  for (const chunk of chunks([...contacts.values()], IMPORT_MAX_RECORDS)) {
    requests.push(request(baseUrl, 'PUT', paths.contactImport(), { mergeOption: 'overwrite', contacts: chunk }));
  }
  for (const chunk of chunks([...records.values()], IMPORT_MAX_RECORDS)) {
    requests.push(
      request(baseUrl, 'PUT', paths.insightImport(), {
        collectionName: collection,
        collectionScope: 'contact',
        collectionType: 'orders',
        records: chunk,
      }),
    );
  }
  return requests;
}

export function dotdigitalWorkForConfig(event: BusinessEvent, config: Config, mode: { backfill?: boolean } = {}): DotdigitalWork {
  const settings = dotdigitalSettings(config);
  return dotdigitalWorkFor(event, marketplaceById(config, event.detail.marketplace), dotdigitalOptions(settings), mode);
}

/**
 * The Dotdigital requests one business event causes, as `plan` prints them (credentials masked, the discovery
 * host standing in for the account's region): single calls by default, the async imports with `backfill`.
 * Programme enrolment is left out: it depends on the contact's channel status, which only Dotdigital knows.
 */
export function dotdigitalRequestsFor(event: BusinessEvent, config: Config, options: { backfill?: boolean } = {}): PlannedRequest[] {
  const settings = dotdigitalSettings(config);
  const work = dotdigitalWorkForConfig(event, config, options);
  const baseUrl = settings.baseUrl ?? DOTDIGITAL_DISCOVERY_URL;
  return work.backfill && settings.bulk !== 'never'
    ? bulkRequests([work], baseUrl, settings.collectionName)
    : singleRequests(work, baseUrl, settings.collectionName);
}
