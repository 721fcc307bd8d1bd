/**
 * The Dotdigital connector: discovers the account's region once (`/v2/account-info` → `ApiEndpoint`) and keeps
 * it, sets the account up once per warm Lambda (custom identifier, data fields, the `orders` collection, each
 * idempotent), then sends what `requests.ts` builds through the shared HTTP layer.
 *
 * Live: PATCH the contact, read the order's record, write the merged record (refunds and cancellations are
 * re-read after writing, so a concurrent writer's lost update is retried rather than dropped), and enrol in a
 * programme only when the contact's e-mail channel is `subscribed`. Bulk: the async contact import, then the
 * async insight import, each polled to completion before the next step.
 */
import type { Config } from '../config';
import { type Connector, prefersBulkWith } from '../connector/runtime';
import { PermanentError, mapForDestination } from '../connector/failures';
import type { BusinessEvent } from '../events';
import { isErasure } from '../privacy/erasure';
import { HttpError, type HttpClient, type HttpResponse, type RetryAfterExtractor, retryAfterHeader } from '../http';
import { type DotdigitalWork, type OrderRecordJson, includesAdjustments } from './mapping';
import {
  type Credentials,
  DOTDIGITAL_DISCOVERY_URL,
  type DotdigitalMethod,
  type PlannedRequest,
  bulkRequests,
  dotdigitalHeaders,
  dotdigitalSettings,
  dotdigitalWorkForConfig,
  paths,
  recordRef,
  singleRequests,
} from './requests';

/** Dotdigital recommends allowing 121 s before treating a call as timed out; a Lambda cannot wait that long. */
export const DOTDIGITAL_TIMEOUT_MS = 30_000;

/**
 * Tiered rate limiting answers 429 with `X-RateLimit-Reset`, documented as seconds until the reset and described
 * elsewhere as an epoch timestamp: values above 1e9 are taken as epoch seconds. `Retry-After` is the fallback.
 */
export const dotdigitalRetryAfter: RetryAfterExtractor = (headers, nowMs) => {
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+(\.\d+)?$/.test(reset)) {
    const value = Number(reset);
    return value > 1e9 ? Math.max(0, Math.round(value * 1000 - nowMs)) : Math.round(value * 1000);
  }
  return retryAfterHeader(headers, nowMs);
};

/** Records per page when reading a whole collection (the documented page holds at most 1,000). */
const RECORDS_PAGE = 1_000;

export const DATA_FIELD_TYPES = {
  identity: 'String',
  marketplace: 'String',
  firstName: 'String',
  lastName: 'String',
  marketingAllowed: 'Boolean',
} as const;

export interface DotdigitalConnectorDeps {
  config: Config;
  http: HttpClient;
  credentials(): Promise<Credentials>;
  /** Import status polling: interval and the budget after which the record goes back to the queue. */
  poll?: { intervalMs: number; timeoutMs: number };
  sleep?: (ms: number) => Promise<void>;
}

type Json = Record<string, unknown>;

/** A v3 error code or a v2 `ERROR_*` token: enough to fix the mapping, free of the values that were sent. */
export function dotdigitalErrorCode(error: HttpError): string | undefined {
  const text = error.bodySnippet ?? '';
  const legacy = /ERROR_[A-Z_]+/.exec(text)?.[0];
  if (legacy) return legacy;
  return /"errorCode"\s*:\s*"([\w:.-]+)"/.exec(text)?.[1];
}

/** The legacy flat scheme caps with HTTP 400 `ERROR_APIUSAGE_EXCEEDED`: rate limiting, not a bad request. */
function asRateLimit(error: HttpError): HttpError {
  return new HttpError({
    operation: error.operation,
    kind: 'status',
    status: error.status,
    retryable: true,
    rateLimited: true,
    attempts: error.attempts,
    detail: 'ERROR_APIUSAGE_EXCEEDED',
  });
}

export function createDotdigitalConnector(deps: DotdigitalConnectorDeps): Connector {
  const settings = dotdigitalSettings(deps.config);
  const discoveryUrl = settings.baseUrl ?? DOTDIGITAL_DISCOVERY_URL;
  const collection = settings.collectionName;
  const poll = deps.poll ?? { intervalMs: 2_000, timeoutMs: 30_000 };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let region: Promise<string> | undefined;
  let setup: Promise<void> | undefined;

  async function raw(operation: string, method: DotdigitalMethod, url: string, body?: unknown): Promise<HttpResponse> {
    const headers = dotdigitalHeaders(await deps.credentials());
    return deps.http.request({
      operation: `dotdigital.${operation}`,
      method,
      url,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  function discover(): Promise<string> {
    region ??= raw('accountInfo', 'GET', `${discoveryUrl.replace(/\/+$/, '')}${paths.accountInfo()}`).then(
      (response) => {
        const properties = ((response.json as Json | undefined)?.properties ?? []) as { name?: string; value?: string }[];
        const endpoint = properties.find((p) => p.name === 'ApiEndpoint')?.value;
        if (!endpoint) throw new PermanentError('dotdigital.accountInfo: no ApiEndpoint in the account information');
        return endpoint.replace(/\/+$/, '');
      },
      (error: unknown) => {
        region = undefined;
        throw error;
      },
    );
    return region;
  }

  /** One call on the account's region; a 403 (wrong region: the account moved) rediscovers once. */
  async function call(operation: string, method: DotdigitalMethod, path: string, body?: unknown, rediscovered = false): Promise<HttpResponse> {
    const base = await discover();
    try {
      return await raw(operation, method, `${base}${path}`, body);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 403 && !rediscovered) {
        region = undefined;
        return call(operation, method, path, body, true);
      }
      const code = dotdigitalErrorCode(error);
      if (error.status === 400 && code === 'ERROR_APIUSAGE_EXCEEDED') throw asRateLimit(error);
      if (!error.retryable) throw new PermanentError(code ? `${error.message}: ${code}` : error.message, { cause: error });
      throw error;
    }
  }

  /** A GET whose 404 means "none yet". */
  async function find(operation: string, path: string): Promise<Json | undefined> {
    try {
      return (await call(operation, 'GET', path)).json as Json | undefined;
    } catch (error) {
      if (error instanceof PermanentError && error.cause instanceof HttpError && error.cause.status === 404) return undefined;
      throw error;
    }
  }

  /** Creates what the connector writes into, treating "already exists" as success. */
  async function ensureSetup(): Promise<void> {
    const identifiers = ((await call('customIdentifiers', 'GET', paths.customIdentifiers())).json ?? []) as { name?: string }[];
    if (!identifiers.some((i) => i.name === settings.customIdentifier)) {
      await call('createCustomIdentifier', 'POST', paths.customIdentifiers(), { name: settings.customIdentifier }).catch(
        (error: unknown) => {
          if (!(error instanceof PermanentError && /nameAlreadyExists/.test(error.message))) throw error;
        },
      );
    }
    const existing = ((await call('dataFields', 'GET', paths.dataFields())).json ?? []) as { name?: string }[];
    const names = new Set(existing.map((f) => f.name?.toUpperCase()));
    for (const [field, type] of Object.entries(DATA_FIELD_TYPES)) {
      const name = settings.dataFields[field as keyof typeof DATA_FIELD_TYPES];
      if (names.has(name.toUpperCase())) continue;
      await call('createDataField', 'POST', paths.dataFields(), { name, type, visibility: 'Private' }).catch((error: unknown) => {
        // Another instance created it between our read and write.
        if (!(error instanceof PermanentError && /ERROR_DATAFIELD_DUPLICATE|ERROR_NON_UNIQUE_DATAFIELD/.test(error.message))) throw error;
      });
    }
    await call('createCollection', 'POST', paths.collection(collection));
  }

  function ready(): Promise<void> {
    setup ??= ensureSetup().catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    return setup;
  }

  async function enrol(programme: number, contactIds: number[]): Promise<void> {
    if (contactIds.length === 0) return;
    await call('enrol', 'POST', paths.enrolment(), { programId: programme, contacts: contactIds });
  }

  /** Marketing eligibility at the destination: anything but `subscribed` (suppressed, unsubscribed, bounced…) is out. */
  const subscribedContactId = (contact: Json | undefined): number | undefined => {
    const status = ((contact?.channelProperties as Json | undefined)?.email as Json | undefined)?.status;
    return status === 'subscribed' && typeof contact?.contactId === 'number' ? contact.contactId : undefined;
  };

  /** Erasure: the contact goes, and its contact-scoped insight records with it; one already gone is done. */
  async function erase(identity: string): Promise<void> {
    await ready();
    await call('deleteContact', 'DELETE', paths.contact(settings.customIdentifier, identity)).catch((error: unknown) => {
      if (!(error instanceof PermanentError && error.cause instanceof HttpError && error.cause.status === 404)) throw error;
    });
  }

  async function deliverOne(event: BusinessEvent): Promise<void> {
    if (isErasure(event)) return erase(event.detail.identity);
    const work = mapForDestination('Dotdigital', () => dotdigitalWorkForConfig(event, deps.config));
    await ready();
    const { identifier, value } = work.identity;
    const recordPath = paths.record(identifier, value, collection, work.record.key);
    const stored = (await find('getRecord', recordPath))?.json as OrderRecordJson | undefined;
    // Built on an empty base: `call` puts them on the account's region.
    const [patch, put] = singleRequests(work, '', collection, stored) as [PlannedRequest, PlannedRequest];
    const contact = (await upsertContact(patch.url, work)).json as Json | undefined;
    await call('putRecord', 'PUT', put.url, put.body);
    const adjusts = work.record.json.refunds.length + work.record.json.cancellations.length > 0;
    if (adjusts) {
      const after = (await find('getRecord', recordPath))?.json as OrderRecordJson | undefined;
      if (!after || !includesAdjustments(after, work.record.json)) {
        throw new Error('another writer replaced the order record concurrently');
      }
    }
    if (work.programme !== undefined) {
      const id = subscribedContactId(contact);
      if (id !== undefined) await enrol(work.programme, [id]);
    }
  }

  /**
   * A relay address already held by another contact is a 409: the buyer's contact is still written, keyed by its
   * channel identity, without the address (it is only ever a transactional convenience, never the identity).
   */
  async function upsertContact(path: string, work: DotdigitalWork): Promise<HttpResponse> {
    try {
      return await call('upsertContact', 'PATCH', path, work.contact);
    } catch (error) {
      const conflict = error instanceof PermanentError && error.cause instanceof HttpError && error.cause.status === 409;
      if (!conflict || work.contact.identifiers.email === undefined) throw error;
      const { email: _conflicting, ...identifiers } = work.contact.identifiers;
      return call('upsertContact', 'PATCH', path, { ...work.contact, identifiers });
    }
  }

  async function awaitImport(operation: string, statusPath: string, outcome: (status: Json) => 'done' | 'pending'): Promise<void> {
    const deadline = Date.now() + poll.timeoutMs;
    for (;;) {
      const status = ((await call(operation, 'GET', statusPath)).json ?? {}) as Json;
      if (outcome(status) === 'done') return;
      // Re-importing is harmless (upserts by identifier and key): the record goes back to the queue.
      if (Date.now() >= deadline) throw new Error(`dotdigital.${operation}: import still running after ${poll.timeoutMs} ms`);
      await sleep(poll.intervalMs);
    }
  }

  const contactImportOutcome = (status: Json): 'done' | 'pending' => {
    if (status.status === 'NotStarted' || status.status === 'NotFinished') return 'pending';
    if (status.status !== 'Finished') throw new PermanentError(`dotdigital contact import ${String(status.status)}`);
    const failures = (status.failures ?? []) as { failures?: { failureCode?: string }[] }[];
    if (failures.length > 0) {
      const codes = [...new Set(failures.flatMap((f) => (f.failures ?? []).map((x) => x.failureCode)))].join(', ');
      throw new PermanentError(`dotdigital contact import rejected ${failures.length} contact(s): ${codes}`);
    }
    return 'done';
  };

  const insightImportOutcome = (status: Json): 'done' | 'pending' => {
    if (status.status === 'NotStarted' || status.status === 'Processing') return 'pending';
    if (status.status !== 'Complete') throw new PermanentError(`dotdigital insight import ${String(status.status)}`);
    const failures = (status.failures ?? []) as { failureReason?: string }[];
    if (failures.length > 0) {
      const reasons = [...new Set(failures.map((f) => f.failureReason))].join(', ');
      throw new PermanentError(`dotdigital insight import rejected ${failures.length} record(s): ${reasons}`);
    }
    return 'done';
  };

  /**
   * An import replaces records whole, so what is stored (refunds and cancellations from earlier batches) is read
   * first, the cheaper way: nothing when the collection is empty (a first history load), the whole collection a
   * page at a time when that takes fewer calls than one read per record, else one read per record.
   */
  async function storedRecords(works: DotdigitalWork[]): Promise<Map<string, OrderRecordJson>> {
    const wanted = new Map(works.map((w) => [recordRef(w), w] as const));
    const stored = new Map<string, OrderRecordJson>();
    const summaries = ((await call('listCollections', 'GET', paths.collections())).json ?? []) as { collectionName?: string; recordCount?: number }[];
    const count = summaries.find((c) => c.collectionName === collection)?.recordCount ?? 0;
    if (count === 0) return stored;
    if (Math.ceil(count / RECORDS_PAGE) < wanted.size) {
      const refByKey = new Map([...wanted].map(([ref, w]) => [w.record.key, ref] as const));
      let marker: string | undefined;
      do {
        const page = ((await call('listRecords', 'GET', paths.collectionRecords(collection, RECORDS_PAGE, marker))).json ?? {}) as {
          _items?: { key?: string; json?: OrderRecordJson }[];
          _links?: { next?: { marker?: string } };
        };
        for (const item of page._items ?? []) {
          const ref = item.key === undefined ? undefined : refByKey.get(item.key);
          if (ref && item.json) stored.set(ref, item.json);
        }
        marker = page._links?.next?.marker;
      } while (marker);
      return stored;
    }
    for (const [ref, work] of wanted) {
      const { identifier, value } = work.identity;
      const found = (await find('getRecord', paths.record(identifier, value, collection, work.record.key)))?.json;
      if (found) stored.set(ref, found as OrderRecordJson);
    }
    return stored;
  }

  async function deliverMany(events: BusinessEvent[]): Promise<void> {
    const works: DotdigitalWork[] = mapForDestination('Dotdigital', () => events.map((e) => dotdigitalWorkForConfig(e, deps.config)));
    await ready();
    const stored = await storedRecords(works);
    for (const request of bulkRequests(works, '', collection, stored)) {
      const contacts = request.url === paths.contactImport();
      const response = await call(contacts ? 'importContacts' : 'importInsight', 'PUT', request.url, request.body);
      const importId = String((response.json as Json | undefined)?.importId ?? '');
      if (!importId) throw new PermanentError('dotdigital import answered without an importId');
      await (contacts
        ? awaitImport('contactImportStatus', paths.contactImportStatus(importId), contactImportOutcome)
        : awaitImport('insightImportStatus', paths.insightImportStatus(importId), insightImportOutcome));
    }
    const byProgramme = new Map<number, Set<string>>();
    for (const work of works) {
      if (work.programme === undefined) continue;
      byProgramme.set(work.programme, (byProgramme.get(work.programme) ?? new Set()).add(work.identity.value));
    }
    for (const [programme, values] of byProgramme) {
      const ids: number[] = [];
      for (const value of values) {
        const id = subscribedContactId(await find('getContact', paths.contact(settings.customIdentifier, value)));
        if (id !== undefined) ids.push(id);
      }
      await enrol(programme, ids);
    }
  }

  return {
    deliverOne,
    deliverMany,
    prefersBulk: prefersBulkWith(settings),
  };
}
