/**
 * A local Dotdigital API for `npm start`, the tests and the benchmark. Regions are path prefixes on one loopback
 * server (`/r1`, `/r2`, `/r3`): `GET /v2/account-info` answers on any region with the account's `ApiEndpoint`,
 * every other call on a wrong region is 403 "Access is denied", as Dotdigital does. It checks Basic credentials,
 * validates every request with our own schemas of Dotdigital's contract (`schemas.ts`: the vendor documents do not
 * ship with the product), applies tiered per-minute limits with 429 and `X-RateLimit-*` headers (or the legacy flat
 * hourly cap, HTTP 400 `ERROR_APIUSAGE_EXCEEDED`), enforces the insight rules (contact first, no nested arrays, a
 * schema fixed by the first records), runs imports asynchronously (a first status poll says they are still running),
 * caps programme enrolment calls at 20 in any hour per account, and counts anything that touches consent.
 * Inspection: `GET /__sandbox/state`; faults: `POST /__sandbox/faults`.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../../functions/shared/config';
import { type DotdigitalStore as Store, DotdigitalStore, type InsightFailure, type SandboxList, type StoredContact } from './store';
import { MAX_BODY_BYTES, type RouteName, identifierValueValid, requestProblems } from './schemas';
import { type Reply, type SandboxFault, type VendorRequest, startVendorServer, type ReceivedRequest } from '../vendorServer';

export type { SandboxList, StoredContact, StoredRecord } from './store';
export type { ReceivedRequest, SandboxFault } from '../vendorServer';

/** Dotdigital's API families: each v3 service namespaces its error codes; v2 answers in its own format. */
export type DotdigitalService = 'contacts' | 'insightData' | 'configuration' | 'v2';
const ERROR_NAMESPACE: Record<Exclude<DotdigitalService, 'v2'>, string> = {
  contacts: 'contacts',
  insightData: 'insightData',
  configuration: 'customIdentifiers',
};

export const DEFAULT_DOTDIGITAL_SANDBOX_PORT = 4030;
export const DOTDIGITAL_SANDBOX_USER = 'apiuser-marketbridge@apiconnector.com';
export const DOTDIGITAL_SANDBOX_PASSWORD = 'sandbox-password';
export const SANDBOX_LISTS: SandboxList[] = [
  { id: 4001, name: 'Marketplace buyers (no marketing)', marketing: false },
  { id: 4002, name: 'Newsletter subscribers', marketing: true },
];

/**
 * `POST /v2/programs/enrolments`: "a maximum of 20 times per hour, across all programs" per account (v2 spec,
 * ApiProgram_PostEnrolment). The answer over the cap is not documented; the sandbox gives v2's documented answer to a
 * capped account, HTTP 400 `ERROR_APIUSAGE_EXCEEDED`, and counts the refusal. No maximum of contacts per call is
 * documented either, so none is enforced.
 */
export const ENROLMENT_CALLS_PER_HOUR = 20;

export type Region = 'r1' | 'r2' | 'r3';
/** Tiered scheme: each call sits in a tier with its own per-minute allowance (bulk imports are the low tier). */
export type Tier = 'low' | 'medium' | 'high';

export interface DotdigitalSandboxOptions {
  port?: number;
  /** The account's region; `url` (the discovery host) is r1, so a client that skips discovery gets 403s. */
  region?: Region;
  username?: string;
  password?: string;
  rateScheme?: { kind: 'tiered'; perMinute: Record<Tier, number> } | { kind: 'flat'; perHour: number };
  /** E-mail addresses suppressed at account level before anything is sent. */
  suppressedEmails?: string[];
  /** Status polls an import answers "still running" to before it completes. */
  importPolls?: number;
  now?: () => number;
}

export interface DotdigitalSandbox {
  /** The discovery host (region r1). */
  url: string;
  /** The account's own API endpoint, as `/v2/account-info` reports it. */
  apiEndpoint: string;
  store: Store;
  requests: ReceivedRequest[];
  /** Moves the account to another region (calls to the old one get 403 from now on). */
  moveTo(region: Region): void;
  /** Counts for the local runtime's live summary. */
  stats(): Record<string, number>;
  inject(fault: SandboxFault): void;
  reset(): void;
  close(): Promise<void>;
}

interface Route {
  name: RouteName;
  method: string;
  path: RegExp;
  service: DotdigitalService;
  template: string;
  tier: Tier;
}

const ID = '([^/]+)';
const ROUTES: Route[] = [
  { name: 'accountInfo', method: 'GET', path: /^\/v2\/account-info$/, service: 'v2', template: '/v2/account-info', tier: 'high' },
  { name: 'listCustomIdentifiers', method: 'GET', path: /^\/configuration\/v3\/customIdentifiers$/, service: 'configuration', template: '/configuration/v3/customIdentifiers', tier: 'medium' },
  { name: 'createCustomIdentifier', method: 'POST', path: /^\/configuration\/v3\/customIdentifiers$/, service: 'configuration', template: '/configuration/v3/customIdentifiers', tier: 'medium' },
  { name: 'listDataFields', method: 'GET', path: /^\/v2\/data-fields$/, service: 'v2', template: '/v2/data-fields', tier: 'medium' },
  { name: 'createDataField', method: 'POST', path: /^\/v2\/data-fields$/, service: 'v2', template: '/v2/data-fields', tier: 'medium' },
  { name: 'createCollection', method: 'POST', path: new RegExp(`^/insightData/v3/collections/${ID}$`), service: 'insightData', template: '/insightData/v3/collections/{collectionName}', tier: 'medium' },
  // Before the contact routes: `/contacts/v3/import/{id}` would otherwise read as identifier `import`.
  { name: 'contactImportStatus', method: 'GET', path: new RegExp(`^/contacts/v3/import/${ID}$`), service: 'contacts', template: '/contacts/v3/import/{importId}', tier: 'high' },
  { name: 'getContact', method: 'GET', path: new RegExp(`^/contacts/v3/${ID}/${ID}$`), service: 'contacts', template: '/contacts/v3/{identifier}/{value}', tier: 'high' },
  { name: 'upsertContact', method: 'PATCH', path: new RegExp(`^/contacts/v3/${ID}/${ID}$`), service: 'contacts', template: '/contacts/v3/{identifier}/{value}', tier: 'medium' },
  { name: 'deleteContact', method: 'DELETE', path: new RegExp(`^/contacts/v3/${ID}/${ID}$`), service: 'contacts', template: '/contacts/v3/{identifier}/{value}', tier: 'medium' },
  { name: 'listCollections', method: 'GET', path: /^\/insightData\/v3\/collections$/, service: 'insightData', template: '/insightData/v3/collections', tier: 'high' },
  { name: 'listRecords', method: 'GET', path: new RegExp(`^/insightData/v3/contacts/${ID}$`), service: 'insightData', template: '/insightData/v3/contacts/{collectionName}', tier: 'high' },
  { name: 'getRecord', method: 'GET', path: new RegExp(`^/insightData/v3/contacts/${ID}/${ID}/${ID}/${ID}$`), service: 'insightData', template: '/insightData/v3/contacts/{identifier}/{value}/{collectionName}/{recordId}', tier: 'high' },
  { name: 'putRecord', method: 'PUT', path: new RegExp(`^/insightData/v3/contacts/${ID}/${ID}/${ID}/${ID}$`), service: 'insightData', template: '/insightData/v3/contacts/{identifier}/{value}/{collectionName}/{recordId}', tier: 'medium' },
  { name: 'importContacts', method: 'PUT', path: /^\/contacts\/v3\/import$/, service: 'contacts', template: '/contacts/v3/import', tier: 'low' },
  { name: 'importInsight', method: 'PUT', path: /^\/insightData\/v3\/import$/, service: 'insightData', template: '/insightData/v3/import', tier: 'low' },
  { name: 'insightImportStatus', method: 'GET', path: new RegExp(`^/insightData/v3/import/${ID}$`), service: 'insightData', template: '/insightData/v3/import/{importId}', tier: 'high' },
  { name: 'enrol', method: 'POST', path: /^\/v2\/programs\/enrolments$/, service: 'v2', template: '/v2/programs/enrolments', tier: 'low' },
  // Served so a wrong call is seen and counted; MarketBridge must never make them.
  { name: 'unsubscribe', method: 'POST', path: /^\/v2\/contacts\/unsubscribe$/, service: 'v2', template: '/v2/contacts/unsubscribe', tier: 'medium' },
  { name: 'suppress', method: 'PUT', path: /^\/v2\/contacts\/suppress-contacts$/, service: 'v2', template: '/v2/contacts/suppress-contacts', tier: 'medium' },
];

/** Path parameter names in template order, as the route's pattern captures them. */
const parameterNames = (template: string) => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);

/** The documented operation a request is (route, API family, path template and decoded path parameters). */
export function dotdigitalOperation(
  method: string,
  pathname: string,
): { route: RouteName; service: DotdigitalService; template: string; params: Record<string, string> } | undefined {
  const path = pathname.replace(/^\/r[123](?=\/)/, '');
  const route = ROUTES.find((r) => r.method === method && r.path.test(path));
  if (!route) return undefined;
  const values = route.path.exec(path)?.slice(1) ?? [];
  const params = Object.fromEntries(parameterNames(route.template).map((name, i) => [name, decodeURIComponent(values[i] ?? '')]));
  return { route: route.name, service: route.service, template: route.template, params };
}

class DotdigitalError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    description: string,
    readonly details?: { item: string; description: string }[],
  ) {
    super(description);
  }
}

const v3Error = (e: DotdigitalError): Reply => ({
  status: e.status,
  body: { errorCode: e.errorCode, description: e.message, ...(e.details ? { details: e.details } : {}) },
});
/** v2 answers with a `message` carrying an `ERROR_*` token. */
const v2Error = (status: number, token: string, text: string): Reply => ({ status, body: { message: `${token}: ${text}` } });

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});

const BAD_JSON = Symbol('bad JSON');
const parseJson = (raw: Buffer): unknown => {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return BAD_JSON;
  }
};

const CONSENT_KEYS = ['channelProperties', 'consentRecords', 'preferences'];

interface ImportJob {
  kind: 'contacts' | 'insight';
  pollsLeft: number;
  result: Json;
}

export async function startDotdigitalSandbox(options: DotdigitalSandboxOptions = {}): Promise<DotdigitalSandbox> {
  const now = options.now ?? Date.now;
  let region = options.region ?? 'r2';
  const username = options.username ?? DOTDIGITAL_SANDBOX_USER;
  const password = options.password ?? DOTDIGITAL_SANDBOX_PASSWORD;
  const scheme = options.rateScheme ?? { kind: 'tiered', perMinute: { low: 120, medium: 1_200, high: 2_400 } };
  const suppressed = new Set((options.suppressedEmails ?? []).map((e) => e.toLowerCase()));
  const store = new DotdigitalStore(SANDBOX_LISTS, suppressed, () => new Date(now()));
  const imports = new Map<string, ImportJob>();
  const windows = new Map<string, { window: number; count: number }>();
  /** When each accepted enrolment call arrived, for the rolling hour. */
  let enrolmentCalls: number[] = [];

  function split(pathname: string): { region: string | undefined; path: string } {
    const match = /^\/(r[123])(\/.*)$/.exec(pathname);
    return match ? { region: match[1], path: match[2] as string } : { region: undefined, path: pathname };
  }
  const routeFor = (method: string, pathname: string) => {
    const { path } = split(pathname);
    return ROUTES.find((r) => r.method === method && r.path.test(path));
  };

  /** Tiered: per-minute windows per tier; flat: one hourly window. Returns headers, or throws the vendor's answer. */
  function admit(route: Route): Record<string, string> {
    // Enrolment "is not counted as part of your flat rate hourly API call limit" (its reference page): its own cap.
    if (scheme.kind === 'flat' && route.name === 'enrol') return {};
    const at = now();
    const [key, limit, size] =
      scheme.kind === 'tiered' ? [route.tier, scheme.perMinute[route.tier], 60_000] : ['flat', scheme.perHour, 3_600_000];
    const window = Math.floor(at / size);
    const w = windows.get(key) ?? { window, count: 0 };
    if (w.window !== window) Object.assign(w, { window, count: 0 });
    windows.set(key, w);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * size - at) / 1000));
    const over = w.count >= limit;
    if (!over) w.count += 1;
    const headers = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - w.count)),
      'x-ratelimit-reset': String(resetSeconds),
      ...(scheme.kind === 'tiered' ? { 'x-ratelimit-scope': route.tier } : {}),
    };
    if (over) {
      throw scheme.kind === 'tiered'
        ? { status: 429, headers, body: { errorCode: 'rateLimitExceeded', description: 'Too many requests' } }
        : { ...v2Error(400, 'ERROR_APIUSAGE_EXCEEDED', 'Your account has generated excess API activity and is being temporarily capped'), headers };
    }
    return headers;
  }

  function authenticated(header: string | undefined): boolean {
    const match = /^Basic (\S+)$/.exec(header ?? '');
    return match !== null && Buffer.from(match[1] as string, 'base64').toString('utf8') === `${username}:${password}`;
  }

  /** A request our schemas refuse gets Dotdigital's answer: a v3 error with details, or v2's `ERROR_*` message. */
  function invalid(route: Route, pathname: string, body: unknown, url: URL): Reply | undefined {
    const params = dotdigitalOperation(route.method, pathname)?.params ?? {};
    const problems = requestProblems(route.name, { path: params, query: Object.fromEntries(url.searchParams), body });
    if (problems.length === 0) return undefined;
    if (route.service === 'v2') return v2Error(400, 'ERROR_PARAMETER_INVALID', problems.map((p) => p.description).join('; '));
    return v3Error(new DotdigitalError(400, `${ERROR_NAMESPACE[route.service]}:validationFailed`, 'The request is invalid', problems.slice(0, 5)));
  }

  function badJson(route: Route): Reply {
    return route.service === 'v2'
      ? v2Error(400, 'ERROR_PARAMETER_INVALID', 'The request JSON is badly formed')
      : v3Error(new DotdigitalError(400, `${ERROR_NAMESPACE[route.service]}:badJson`, 'The request JSON is badly formed'));
  }

  function checkIdentifier(identifier: string, value: string): void {
    const known = ['contactId', 'email', 'mobileNumber'].includes(identifier) || store.customIdentifiers.has(identifier);
    if (!known) throw new DotdigitalError(400, 'contacts:invalidIdentifier', `The identifier '${identifier}' does not exist`);
    if (!identifierValueValid(identifier, value)) {
      throw new DotdigitalError(400, 'contacts:invalidId', `The id value '${value}' is invalid for the identifier '${identifier}'`);
    }
  }

  function contactBody(contact: StoredContact): Json {
    return {
      contactId: contact.contactId,
      status: contact.emailStatus === 'suppressed' ? 'suppressed' : 'subscribed',
      created: contact.created,
      updated: contact.updated,
      identifiers: contact.identifiers,
      dataFields: contact.dataFields,
      ...(contact.emailStatus
        ? { channelProperties: { email: { emailType: 'Html', optInType: 'Unknown', status: contact.emailStatus } } }
        : {}),
      lists: [...contact.lists].map((id) => ({ id, name: SANDBOX_LISTS.find((l) => l.id === id)?.name ?? `List ${id}`, status: 'subscribed' })),
    };
  }

  /** Identifiers, data fields and lists a contact write may carry, as Dotdigital checks them. */
  function checkContact(body: Json): void {
    if (CONSENT_KEYS.some((k) => k in body)) store.consentWrites += 1;
    for (const name of Object.keys(obj(body.identifiers))) checkIdentifier(name, String(obj(body.identifiers)[name]));
    for (const name of Object.keys(obj(body.dataFields))) {
      if (!store.dataFields.has(name.toUpperCase()) && !store.dataFields.has(name)) {
        throw new DotdigitalError(400, 'contacts:dataFieldNotFound', `The data field '${name}' does not exist`);
      }
    }
    for (const id of (body.lists as number[] | undefined) ?? []) {
      if (!SANDBOX_LISTS.some((l) => l.id === id)) throw new DotdigitalError(400, 'contacts:listNotFound', `The list ${id} does not exist`);
    }
  }

  function contactFor(identifier: string, value: string): StoredContact {
    const contact = store.find(identifier, value);
    if (!contact) {
      throw new DotdigitalError(404, 'insightData:contactNotFound', 'The following contacts could not be found', [
        { item: value, description: `Not found using the identifier '${identifier}'` },
      ]);
    }
    return contact;
  }

  function importInsight(body: Json): Json {
    const collection = String(body.collectionName);
    const failures: Json[] = [];
    let imported = 0;
    for (const record of (body.records as Json[]) ?? []) {
      const identity = obj(record.contactIdentity);
      const owner = store.find(String(identity.identifier), String(identity.value));
      const failure: InsightFailure | undefined = !record.contactIdentity
        ? 'InvalidContactIdentifier'
        : !owner
          ? 'ContactIdDoesNotExist'
          : store.checkRecord(collection, record.json);
      if (failure || !owner) {
        failures.push({ collectionOwner: 'contact', failureReason: failure, key: String(record.key), json: obj(record.json) });
        continue;
      }
      store.putRecord(owner, collection, String(record.key), obj(record.json));
      imported += 1;
    }
    const total = ((body.records as unknown[]) ?? []).length;
    return {
      status: 'Complete',
      collectionName: collection,
      summary: { totalRecords: total, totalImported: imported, totalRejected: total - imported },
      ...(failures.length > 0 ? { failures } : {}),
    };
  }

  function importContacts(body: Json): Json {
    const created: Json[] = [];
    const updated: Json[] = [];
    const failures: Json[] = [];
    for (const entry of (body.contacts as Json[]) ?? []) {
      const match = String(entry.matchIdentifier);
      const identifiers = obj(entry.identifiers) as Record<string, string>;
      const value = identifiers[match];
      try {
        if (value === undefined) throw new DotdigitalError(400, 'missingMatchIdentifier', `No '${match}' identifier given`);
        checkContact(entry);
        checkIdentifier(match, value);
        const result = store.upsert(match, value, entry as never);
        (result.created ? created : updated).push({ contactId: result.contact.contactId, identifiers: result.contact.identifiers });
      } catch (error) {
        const e = error as DotdigitalError;
        failures.push({ matchIdentifier: match, identifiers, failures: [{ failureCode: e.errorCode, description: e.message }] });
      }
    }
    const total = ((body.contacts as unknown[]) ?? []).length;
    return {
      status: 'Finished',
      summary: { totalRecords: total, totalCreated: created.length, totalUpdated: updated.length, totalRejected: failures.length },
      created,
      updated,
      ...(failures.length > 0 ? { failures } : {}),
    };
  }

  function startImport(kind: ImportJob['kind'], result: Json): Reply {
    const importId = randomUUID();
    imports.set(importId, { kind, pollsLeft: options.importPolls ?? 1, result });
    return { status: 202, body: { importId } };
  }

  function pollImport(kind: ImportJob['kind'], importId: string): Reply {
    const job = imports.get(importId);
    if (!job || job.kind !== kind) {
      const code = kind === 'contacts' ? 'contacts:importNotFound' : 'insightData:importNotFound';
      throw new DotdigitalError(404, code, `The import request '${importId}' could not be found!`);
    }
    if (job.pollsLeft > 0) {
      job.pollsLeft -= 1;
      return { status: 200, body: { importId, status: kind === 'contacts' ? 'NotFinished' : 'Processing' } };
    }
    return { status: 200, body: { importId, ...job.result } };
  }

  function apply(route: Route, params: string[], body: unknown, url: URL): Reply {
    const b = obj(body);
    const [p0 = '', p1 = '', p2 = '', p3 = ''] = params.map((p) => decodeURIComponent(p));
    switch (route.name) {
      case 'accountInfo':
        return {
          status: 200,
          body: {
            id: 1,
            properties: [
              { name: 'Name', type: 'String', value: 'MarketBridge sandbox' },
              { name: 'ApiEndpoint', type: 'String', value: `${server.url}/${region}/` },
              { name: 'CurrencyCode', type: 'String', value: 'GBP' },
            ],
          },
        };
      case 'listCustomIdentifiers':
        return { status: 200, body: [...store.customIdentifiers].map((name) => ({ name, created: new Date(now()).toISOString(), updated: new Date(now()).toISOString() })) };
      case 'createCustomIdentifier': {
        const name = String(b.name);
        if (store.customIdentifiers.has(name)) throw new DotdigitalError(409, 'customIdentifiers:nameAlreadyExists', 'The custom identifier already exists.');
        store.customIdentifiers.add(name);
        return { status: 201, body: { name, created: new Date(now()).toISOString(), updated: new Date(now()).toISOString() } };
      }
      case 'listDataFields':
        return { status: 200, body: [...store.dataFields].map(([name, type]) => ({ name, type, visibility: 'Private', defaultValue: null })) };
      case 'createDataField': {
        const name = String(b.name);
        if (store.dataFields.has(name.toUpperCase())) return v2Error(400, 'ERROR_NON_UNIQUE_DATAFIELD', 'The data field already exists');
        store.dataFields.set(name.toUpperCase(), String(b.type));
        return { status: 201 };
      }
      case 'createCollection': {
        if (store.collections.has(p0)) return { status: 200 };
        store.collections.set(p0, { type: url.searchParams.get('collectionType') ?? 'custom', schema: new Map() });
        return { status: 201 };
      }
      case 'getContact': {
        checkIdentifier(p0, p1);
        const contact = store.find(p0, p1);
        if (!contact) throw new DotdigitalError(404, 'contacts:contactNotFound', 'The following contacts could not be found', [{ item: p1, description: `Not found using the identifier '${p0}'` }]);
        return { status: 200, body: contactBody(contact) };
      }
      case 'deleteContact': {
        checkIdentifier(p0, p1);
        const contact = store.find(p0, p1);
        if (!contact) throw new DotdigitalError(404, 'contacts:contactNotFound', 'The following contacts could not be found', [{ item: p1, description: `Not found using the identifier '${p0}'` }]);
        store.remove(contact);
        return { status: 200, body: { contactId: contact.contactId } };
      }
      case 'upsertContact': {
        checkIdentifier(p0, p1);
        checkContact(b);
        const email = obj(b.identifiers).email;
        const owner = typeof email === 'string' ? store.find('email', email) : undefined;
        const self = store.find(p0, p1);
        if (owner && owner !== self) {
          throw new DotdigitalError(409, 'contacts:identifierConflict', 'The identifiers belong to different contacts');
        }
        const { contact, created } = store.upsert(p0, p1, b as never);
        return { status: created ? 201 : 200, body: contactBody(contact) };
      }
      case 'listCollections':
        return {
          status: 200,
          body: [...store.collections].map(([collectionName, c]) => ({
            collectionName,
            collectionType: c.type,
            collectionScope: 'contact',
            recordCount: store.recordsIn(collectionName).length,
          })),
        };
      case 'listRecords': {
        if (!store.collections.has(p0)) throw new DotdigitalError(404, 'insightData:collectionNotFound', 'The collection could not be found');
        // `limit` (1 to 5,000) was validated with the request.
        const limit = Number(url.searchParams.get('limit') ?? 1000);
        const offset = Number(Buffer.from(url.searchParams.get('marker') ?? '', 'base64').toString('utf8') || 0);
        const all = store.recordsIn(p0).sort((a, b) => a.created.localeCompare(b.created));
        const items = all.slice(offset, offset + limit);
        const link = (at: number) => {
          const marker = Buffer.from(String(at)).toString('base64');
          return { marker, link: `${url.pathname}?limit=${limit}&marker=${marker}` };
        };
        return {
          status: 200,
          body: {
            _items: items.map((r) => ({ key: r.key, json: r.json, created: r.created, updated: r.updated })),
            _links: { self: link(offset), first: link(0), ...(offset + limit < all.length ? { next: link(offset + limit) } : {}) },
          },
        };
      }
      case 'getRecord': {
        const contact = contactFor(p0, p1);
        if (!store.collections.has(p2)) throw new DotdigitalError(404, 'insightData:collectionNotFound', 'The collection could not be found');
        const record = store.getRecord(contact, p2, p3);
        if (!record) throw new DotdigitalError(404, 'insightData:recordNotFound', 'The Insight data record could not be found');
        return { status: 200, body: { key: record.key, json: record.json, created: record.created, updated: record.updated, ownerContactId: contact.contactId } };
      }
      case 'putRecord': {
        const contact = contactFor(p0, p1);
        if (!store.collections.has(p2)) throw new DotdigitalError(404, 'insightData:collectionNotFound', 'The collection could not be found');
        const failure = store.checkRecord(p2, body);
        if (failure) throw new DotdigitalError(400, 'insightData:invalidJson', failure);
        return { status: store.putRecord(contact, p2, p3, b).created ? 201 : 204 };
      }
      case 'importContacts':
        return startImport('contacts', importContacts(b));
      case 'contactImportStatus':
        return pollImport('contacts', p0);
      case 'importInsight':
        if (b.collectionScope !== 'contact') throw new DotdigitalError(400, 'insightData:invalidScope', 'Only contact-scoped collections are served');
        return startImport('insight', importInsight(b));
      case 'insightImportStatus':
        return pollImport('insight', p0);
      case 'enrol': {
        const at = now();
        enrolmentCalls = enrolmentCalls.filter((t) => t > at - 3_600_000);
        if (enrolmentCalls.length >= ENROLMENT_CALLS_PER_HOUR) {
          store.enrolmentsRefused += 1;
          return v2Error(400, 'ERROR_APIUSAGE_EXCEEDED', `Programme enrolment is limited to ${ENROLMENT_CALLS_PER_HOUR} calls an hour per account`);
        }
        enrolmentCalls.push(at);
        store.enrolments.push({ programId: Number(b.programId), contacts: (b.contacts as number[]) ?? [] });
        return { status: 201, body: { id: randomUUID(), programId: b.programId, status: 'Processing', dateCreated: new Date(now()).toISOString(), contacts: b.contacts ?? [], addressBooks: [] } };
      }
      case 'unsubscribe':
      case 'suppress':
        store.consentWrites += 1;
        return { status: 200, body: {} };
      default:
        throw new DotdigitalError(404, 'notFound', 'Not found');
    }
  }

  async function handle(request: VendorRequest, fault: SandboxFault | undefined): Promise<Reply | 'hang'> {
    const { region: asked, path } = split(request.url.pathname);
    const route = routeFor(request.method, request.url.pathname);
    if (!asked || !route) return { status: 404, body: { message: `${request.method} ${request.url.pathname} is not served by this sandbox` } };
    if (!authenticated(request.headers.authorization)) {
      return { status: 401, body: { message: 'Authorization has been denied for this request.' } };
    }
    if (asked !== region && route.name !== 'accountInfo') return { status: 403, body: { message: 'Access is denied' } };
    let rateHeaders: Record<string, string>;
    try {
      rateHeaders = admit(route);
    } catch (reply) {
      return reply as Reply;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> =
        fault.status === 429 ? { ...rateHeaders, 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(fault.retryAfterSeconds ?? 1) } : {};
      return { status: fault.status, headers, body: { errorCode: 'serverError', description: 'Injected fault' } };
    }
    if (fault?.kind === 'timeout' && !fault.afterEffect) return 'hang';
    let reply: Reply;
    const body = parseJson(request.raw);
    if (request.raw.length > MAX_BODY_BYTES) {
      reply = { status: 413, body: { message: 'The request body is larger than Dotdigital accepts (50 MB)' } };
    } else if (body === BAD_JSON) {
      reply = badJson(route);
    } else {
      try {
        reply = invalid(route, request.url.pathname, body, request.url) ?? apply(route, route.path.exec(path)?.slice(1) ?? [], body, request.url);
      } catch (error) {
        if (!(error instanceof DotdigitalError)) throw error;
        reply = v3Error(error);
      }
    }
    if (fault?.kind === 'timeout') return 'hang';
    return { ...reply, headers: { ...rateHeaders, ...reply.headers } };
  }

  const server = await startVendorServer({
    port: options.port,
    maxBodyBytes: MAX_BODY_BYTES,
    now,
    routeOf: (method, pathname) => routeFor(method, pathname)?.name,
    handle,
    state: () => ({
      contacts: [...store.contacts.values()].map((c) => ({ ...c, lists: [...c.lists] })),
      records: [...store.records.values()],
      enrolments: store.enrolments,
      enrolmentsRefused: store.enrolmentsRefused,
      consentWrites: store.consentWrites,
    }),
  });

  return {
    url: `${server.url}/r1`,
    get apiEndpoint() {
      return `${server.url}/${region}`;
    },
    store,
    moveTo(next) {
      region = next;
    },
    stats: () => ({
      contacts: store.contacts.size,
      records: store.records.size,
      'enrolment calls': store.enrolments.length,
      enrolled: store.enrolments.reduce((n, e) => n + e.contacts.length, 0),
      ...(store.enrolmentsRefused > 0 ? { 'enrolment calls refused': store.enrolmentsRefused } : {}),
    }),
    requests: server.requests,
    inject: server.inject,
    reset() {
      store.clear();
      imports.clear();
      windows.clear();
      enrolmentCalls = [];
      server.reset();
    },
    close: () => server.close(),
  };
}

/**
 * For `npm start`: starts the sandbox when the configuration enables the Dotdigital connector, stores the API
 * user's credentials under the connector's secret name and points the connector (discovery host, private list)
 * at the sandbox.
 */
export async function attachDotdigitalSandbox(
  config: Config,
  secrets: { put(name: string, value: string): unknown },
  options: { port?: number } = {},
): Promise<{ config: Config; sandbox: DotdigitalSandbox } | undefined> {
  const dotdigital = config.connectors.dotdigital;
  if (!dotdigital?.enabled) return undefined;
  const secretName = dotdigital.secretName ?? 'marketbridge/dotdigital';
  const password = randomUUID();
  const sandbox = await startDotdigitalSandbox({ port: options.port ?? DEFAULT_DOTDIGITAL_SANDBOX_PORT, password });
  secrets.put(secretName, JSON.stringify({ username: DOTDIGITAL_SANDBOX_USER, password }));
  const listId = SANDBOX_LISTS.find((l) => !l.marketing)?.id;
  return {
    sandbox,
    config: { ...config, connectors: { ...config.connectors, dotdigital: { ...dotdigital, secretName, baseUrl: sandbox.url, listId } } },
  };
}
