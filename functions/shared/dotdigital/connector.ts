/**
 * The Dotdigital connector: sets the account up once per warm Lambda (custom identifier, data fields, the `orders`
 * collection, each idempotent), then sends what `requests.ts` builds through the account's region (`api.ts`).
 *
 * Live: PATCH the contact, then read the order's record and write the merged record holding the order's lease (an
 * insight record is PUT whole: two facts of one order written at once by two Lambdas would each keep only what they
 * read). A subscribed contact's programme enrolment is recorded for the scheduled run (`enrolments.ts`), which enrols
 * in batches under Dotdigital's cap of 20 enrolment calls an hour. Bulk: per chunk of contacts, the async contact
 * import, then the async insight import, each polled to completion before the next step, up to `historyInFlight`
 * chunks at once, holding the leases of every order in the batch until all are done (an import replaces records whole
 * too).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config';
import type { RatePacer } from '../connector/pacer';
import { type Connector, prefersBulkWith } from '../connector/runtime';
import { PermanentError, mapForDestination } from '../connector/failures';
import { inFlight } from '../connector/inFlight';
import { InMemoryLeaseStore, type LeaseStore, type LeaseWait, type OrderRef, createOrderLease } from '../connector/lease';
import type { BusinessEvent } from '../events';
import { isErasure } from '../privacy/erasure';
import { HttpError, type HttpClient, type HttpResponse, type RetryAfterExtractor, retryAfterHeader } from '../http';
import { type Json, createDotdigitalApi } from './api';
import { InMemoryEnrolmentStore, type PendingEnrolment, type PendingEnrolments } from './enrolments';
import { type DotdigitalTier, dotdigitalPacer, pacedHttp } from './pacing';
import type { DotdigitalWork, OrderRecordJson } from './mapping';
import {
  type Credentials,
  IMPORT_MAX_RECORDS,
  type PlannedRequest,
  bulkRequests,
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

/** Records per page when reading a whole collection: the documented maximum (v3 insight data `limit`, 1 to 5,000). */
const RECORDS_PAGE = 5_000;

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
  /** Where subscribed contacts' enrolments wait for the scheduled run; the deployed handler's is the state table. */
  enrolments?: PendingEnrolments;
  /** Order leases; the deployed handler's are on the state table, the default holds within this process only. */
  leases?: LeaseStore;
  /** Import status polling: interval and the budget after which the record goes back to the queue. */
  poll?: { intervalMs: number; timeoutMs: number };
  sleep?: (ms: number) => Promise<void>;
  /** This instance's share of the account's tiered allowances; by default split over `maxConcurrency`. */
  pacer?: RatePacer<DotdigitalTier>;
}

/** A bulk batch waits longer for a lease: another batch holds its orders' leases while its imports run. */
const BULK_WAIT: LeaseWait = { polls: 20, pollIntervalMs: 1_000 };

const orderOf = (work: DotdigitalWork): OrderRef => ({ marketplace: work.record.json.marketplace, orderId: work.record.json.id });

export function createDotdigitalConnector(deps: DotdigitalConnectorDeps): Connector {
  const settings = dotdigitalSettings(deps.config);
  const collection = settings.collectionName;
  const poll = deps.poll ?? { intervalMs: 2_000, timeoutMs: 30_000 };
  const sleep = deps.sleep ?? delay;
  const pacer = deps.pacer ?? dotdigitalPacer(settings, { sleep });
  const { call, find } = createDotdigitalApi({ ...deps, http: pacedHttp(deps.http, pacer) });
  const enrolments = deps.enrolments ?? new InMemoryEnrolmentStore();
  const orderLease = createOrderLease('dotdigital', deps.leases ?? new InMemoryLeaseStore(), { sleep });
  let setup: Promise<void> | undefined;

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

  /** The fact's enrolment, for the scheduled run; the same fact always records the same one. */
  const pendingFor = (event: BusinessEvent, work: DotdigitalWork, contactId: number): PendingEnrolment => ({
    programme: work.programme as number,
    contactId,
    marketplace: event.detail.marketplace,
    orderId: work.record.json.id,
    eventId: event.id,
    occurredAt: event.detail.occurredAt,
  });

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
    // The contact first: insight data needs it to exist.
    const contact = (await upsertContact(paths.contact(identifier, value), work)).json as Json | undefined;
    await orderLease.run([orderOf(work)], async () => {
      const stored = (await find('getRecord', paths.record(identifier, value, collection, work.record.key)))?.json as OrderRecordJson | undefined;
      // Built on an empty base: `call` puts it on the account's region.
      const [, put] = singleRequests(work, '', collection, stored) as [PlannedRequest, PlannedRequest];
      await call('putRecord', 'PUT', put.url, put.body);
    });
    if (work.programme !== undefined) {
      const id = subscribedContactId(contact);
      if (id !== undefined) await enrolments.add(pendingFor(event, work, id));
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

  /**
   * A batch's works in chunks of whole contacts, each within one import's maximum: a contact's records travel with
   * its own import (never ahead of it in another chunk), and no key is in two imports at once.
   */
  function contactChunks(works: DotdigitalWork[]): DotdigitalWork[][] {
    const byContact = new Map<string, DotdigitalWork[]>();
    for (const work of works) {
      const id = JSON.stringify([work.identity.identifier, work.identity.value]);
      byContact.set(id, [...(byContact.get(id) ?? []), work]);
    }
    const chunks: DotdigitalWork[][] = [];
    let current: DotdigitalWork[] = [];
    for (const contactWorks of byContact.values()) {
      if (current.length > 0 && current.length + contactWorks.length > IMPORT_MAX_RECORDS) {
        chunks.push(current);
        current = [];
      }
      current.push(...contactWorks);
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  async function deliverMany(events: BusinessEvent[]): Promise<void> {
    const works: DotdigitalWork[] = mapForDestination('Dotdigital', () => events.map((e) => dotdigitalWorkForConfig(e, deps.config)));
    await ready();
    await orderLease.run(
      works.map(orderOf),
      async () => {
        const stored = await storedRecords(works);
        // Chunks in flight together; within one, its contacts are imported before its insight data (which needs them).
        await inFlight(contactChunks(works), settings.historyInFlight, async (chunk) => {
          for (const request of bulkRequests(chunk, '', collection, stored)) {
            const contacts = request.url === paths.contactImport();
            const response = await call(contacts ? 'importContacts' : 'importInsight', 'PUT', request.url, request.body);
            const importId = String((response.json as Json | undefined)?.importId ?? '');
            if (!importId) throw new PermanentError('dotdigital import answered without an importId');
            await (contacts
              ? awaitImport('contactImportStatus', paths.contactImportStatus(importId), contactImportOutcome)
              : awaitImport('insightImportStatus', paths.insightImportStatus(importId), insightImportOutcome));
          }
        });
      },
      BULK_WAIT,
    );
    // A backlog of live facts may enrol (a history load never does: its works carry no programme).
    const statuses = new Map<string, number | undefined>();
    for (const [i, work] of works.entries()) {
      if (work.programme === undefined) continue;
      const { value } = work.identity;
      if (!statuses.has(value)) statuses.set(value, subscribedContactId(await find('getContact', paths.contact(settings.customIdentifier, value))));
      const id = statuses.get(value);
      if (id !== undefined) await enrolments.add(pendingFor(events[i] as BusinessEvent, work, id));
    }
  }

  return {
    deliverOne,
    deliverMany,
    prefersBulk: prefersBulkWith(settings),
  };
}
