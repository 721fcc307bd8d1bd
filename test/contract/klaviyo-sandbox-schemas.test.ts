/**
 * The Klaviyo sandbox's own request schemas (local/sandboxes/klaviyo/schemas.ts) against Klaviyo's OpenAPI document
 * (revision 2026-07-15). Every request the connector builds is accepted by both; bodies the document's schemas
 * forbid are refused by both. Rules Klaviyo gives only in prose (counts, sizes, identifiers, the event time window)
 * or enforces at runtime without a schema keyword (unknown members) are refused by ours alone: for those the test
 * checks that the document's schemas indeed leave them open and that its prose still states the limit we enforce.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BusinessEvent } from '../../functions/shared/events';
import {
  type KlaviyoOperation,
  type PlannedRequest,
  KLAVIYO_OPERATIONS,
  bulkRequests,
  klaviyoRequestsFor,
  klaviyoWorkForConfig,
  operationOf,
} from '../../functions/shared/klaviyo/requests';
import { startKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import {
  type BodyRoute,
  MAX_BULK_EVENTS,
  MAX_BULK_PROFILES,
  MAX_BULK_SUBSCRIPTIONS,
  bodyProblem,
  klaviyoBodySchemas,
} from '../../local/sandboxes/klaviyo/schemas';
import { KLAVIYO_TEST_KEY, klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';
import { type OpenApiSpec, describeWithSpec, validateRequest, validateResponse } from '../support/openapi';
import { KLAVIYO_ERASURE_OPERATIONS, profileDeletionBody } from '../../functions/shared/privacy/klaviyo';

const SPEC = 'klaviyo/stable.json';
const NOW = Date.parse('2026-11-22T12:00:00Z');
const schemas = klaviyoBodySchemas(() => NOW);

const PATHS: Record<BodyRoute, string> = {
  createEvent: KLAVIYO_OPERATIONS.createEvent.path,
  bulkCreateEvents: KLAVIYO_OPERATIONS.bulkCreateEvents.path,
  upsertProfile: KLAVIYO_OPERATIONS.upsertProfile.path,
  bulkImportProfiles: KLAVIYO_OPERATIONS.bulkImportProfiles.path,
  bulkSubscribeProfiles: '/api/profile-subscription-bulk-create-jobs',
  requestProfileDeletion: KLAVIYO_ERASURE_OPERATIONS.requestProfileDeletion.path,
};

const specProblems = (spec: OpenApiSpec, route: BodyRoute, body: unknown) =>
  validateRequest(spec, 'POST', PATHS[route], { body, headers: { revision: '2026-07-15' } });

/** Order lives over both marketplaces (relay policy transactional and never), one to five lines, live and history. */
const events: BusinessEvent[] = [
  ...orderLifeEvents('debenhams', 'SC1-A'),
  ...orderLifeEvents('decathlon', 'SC2-A', { lines: 5 }),
  ...orderLifeEvents('debenhams', 'SC3-A', { lines: 1, customerId: 'C-2002' }),
  ...orderLifeEvents('decathlon', 'SC4-A', { backfill: true }),
];
const config = klaviyoConfig();

/** Enough order lives that the bulk builder fills requests to the 1,000-event ceiling. */
function manyOrders(count: number): BusinessEvent[] {
  const template = JSON.stringify(orderLifeEvents('debenhams', 'TPL-A', { lines: 5 }));
  return Array.from({ length: count }, (_, i) =>
    JSON.parse(template.replaceAll('TPL-A', `SCB${i}-A`).replaceAll('C-1001', `SCB-${i}`)) as BusinessEvent[],
  ).flat();
}

const built: PlannedRequest[] = [
  ...events.flatMap((e) => klaviyoRequestsFor(e, config)),
  ...events.flatMap((e) => klaviyoRequestsFor(e, config, { backfill: true })),
  ...events.flatMap((e) => klaviyoRequestsFor(e, klaviyoConfig({ bulk: 'never' }), { backfill: true })),
  ...bulkRequests(events.map((e) => klaviyoWorkForConfig(e, config)), 'https://a.klaviyo.com'),
  ...bulkRequests(manyOrders(120).map((e) => klaviyoWorkForConfig(e, config, { backfill: true })), 'https://a.klaviyo.com'),
];

/** Request bodies as the cases edit them: deep, untyped JSON. */
type Body = Record<string, any>;
const first = (op: KlaviyoOperation): Body => {
  const found = built.find((r) => operationOf(r.url) === op);
  if (!found) throw new Error(`no ${op} request built`);
  return found.body as Body;
};
const validBodies: Record<BodyRoute, () => Body> = {
  requestProfileDeletion: () => profileDeletionBody('01GDDKASAP8TKDDA2GRZDSVP4H'),
  createEvent: () => structuredClone(first('createEvent')),
  bulkCreateEvents: () => structuredClone(first('bulkCreateEvents')),
  upsertProfile: () => structuredClone(first('upsertProfile')),
  bulkImportProfiles: () => structuredClone(first('bulkImportProfiles')),
  // MarketBridge never subscribes anyone; this body exists only to exercise the sandbox's tripwire route.
  bulkSubscribeProfiles: () => ({
    data: {
      type: 'profile-subscription-bulk-create-job',
      attributes: {
        profiles: {
          data: [{ type: 'profile', attributes: { email: 'a@example.com', subscriptions: { email: { marketing: { consent: 'SUBSCRIBED' } } } } }],
        },
      },
    },
  }),
};

interface Case {
  name: string;
  route: BodyRoute;
  edit: (body: Body) => Body | void;
  /** Where our schema must point. */
  pointer: string;
}

const event = (b: Body) => b.data.attributes;
const bulkEntry = (b: Body) => b.data.attributes['events-bulk-create'].data[0].attributes;
const bulkEvent = (b: Body) => bulkEntry(b).events.data[0].attributes;
const profile = (b: Body) => b.data.attributes.profiles.data[0];

/** Bodies the document's own schemas forbid: both validators must refuse them. */
const forbiddenByBoth: Case[] = [
  { name: 'no data', route: 'createEvent', edit: () => ({}), pointer: '/data' },
  { name: 'event without metric', route: 'createEvent', edit: (b) => void delete event(b).metric, pointer: '/data/attributes/metric' },
  { name: 'event without properties', route: 'createEvent', edit: (b) => void delete event(b).properties, pointer: '/data/attributes/properties' },
  { name: 'event without profile', route: 'createEvent', edit: (b) => void delete event(b).profile, pointer: '/data/attributes/profile' },
  { name: 'metric without name', route: 'createEvent', edit: (b) => void delete event(b).metric.data.attributes.name, pointer: '/data/attributes/metric/data/attributes/name' },
  { name: 'value as a string', route: 'createEvent', edit: (b) => void (event(b).value = '12.50'), pointer: '/data/attributes/value' },
  { name: 'time not a date-time', route: 'createEvent', edit: (b) => void (event(b).time = '22/11/2026 10:00'), pointer: '/data/attributes/time' },
  { name: 'unique_id as a number', route: 'createEvent', edit: (b) => void (event(b).unique_id = 1001), pointer: '/data/attributes/unique_id' },
  { name: 'backfill as a string', route: 'createEvent', edit: (b) => void (event(b).backfill = 'true'), pointer: '/data/attributes/backfill' },
  { name: 'properties null', route: 'createEvent', edit: (b) => void (event(b).properties = null), pointer: '/data/attributes/properties' },
  { name: 'wrong data.type', route: 'createEvent', edit: (b) => void (b.data.type = 'events'), pointer: '/data/type' },
  { name: 'wrong metric type', route: 'createEvent', edit: (b) => void (event(b).metric.data.type = 'event'), pointer: '/data/attributes/metric/data/type' },
  { name: 'wrong profile type', route: 'createEvent', edit: (b) => void (event(b).profile.data.type = 'profiles'), pointer: '/data/attributes/profile/data/type' },
  { name: 'profile without attributes', route: 'upsertProfile', edit: (b) => void delete b.data.attributes, pointer: '/data/attributes' },
  { name: 'profile typed as event', route: 'upsertProfile', edit: (b) => void (b.data.type = 'event'), pointer: '/data/type' },
  { name: 'first_name as a number', route: 'upsertProfile', edit: (b) => void (b.data.attributes.first_name = 42), pointer: '/data/attributes/first_name' },
  { name: 'location as a string', route: 'upsertProfile', edit: (b) => void (b.data.attributes.location = 'GBR'), pointer: '/data/attributes/location' },
  { name: 'profile properties as a string', route: 'upsertProfile', edit: (b) => void (b.data.attributes.properties = 'x'), pointer: '/data/attributes/properties' },
  { name: 'wrong job type', route: 'bulkCreateEvents', edit: (b) => void (b.data.type = 'event-bulk-create'), pointer: '/data/type' },
  {
    name: 'wrong entry type',
    route: 'bulkCreateEvents',
    edit: (b) => void (b.data.attributes['events-bulk-create'].data[0].type = 'event'),
    pointer: '/data/attributes/events-bulk-create/data/0/type',
  },
  {
    name: 'events not wrapped in data',
    route: 'bulkCreateEvents',
    edit: (b) => void (bulkEntry(b).events = bulkEntry(b).events.data),
    pointer: '/data/attributes/events-bulk-create/data/0/attributes/events',
  },
  {
    name: 'entry without profile',
    route: 'bulkCreateEvents',
    edit: (b) => void delete bulkEntry(b).profile,
    pointer: '/data/attributes/events-bulk-create/data/0/attributes/profile',
  },
  {
    name: 'bulk event without metric',
    route: 'bulkCreateEvents',
    edit: (b) => void delete bulkEvent(b).metric,
    pointer: '/data/attributes/events-bulk-create/data/0/attributes/events/data/0/attributes/metric',
  },
  { name: 'wrong import job type', route: 'bulkImportProfiles', edit: (b) => void (b.data.type = 'profile-bulk-import'), pointer: '/data/type' },
  {
    name: 'profiles.data not an array',
    route: 'bulkImportProfiles',
    edit: (b) => void (b.data.attributes.profiles.data = profile(b)),
    pointer: '/data/attributes/profiles/data',
  },
  {
    name: 'list reference of the wrong type',
    route: 'bulkImportProfiles',
    edit: (b) => void (b.data.relationships = { lists: { data: [{ type: 'lists', id: 'Xy12Ab' }] } }),
    pointer: '/data/relationships/lists/data/0/type',
  },
  {
    name: 'consent other than SUBSCRIBED',
    route: 'bulkSubscribeProfiles',
    edit: (b) => void (profile(b).attributes.subscriptions.email.marketing.consent = 'NEVER_SUBSCRIBED'),
    pointer: '/data/attributes/profiles/data/0/attributes/subscriptions/email/marketing/consent',
  },
  {
    name: 'subscription profile without subscriptions',
    route: 'bulkSubscribeProfiles',
    edit: (b) => void delete profile(b).attributes.subscriptions,
    pointer: '/data/attributes/profiles/data/0/attributes/subscriptions',
  },
];

const repeat = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));
const bigString = 'x'.repeat(100 * 1024 + 1);
const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { level: nested(depth - 1) });

/** Rules the document's schemas leave to prose or to Klaviyo's runtime: ours refuses, the schema validator cannot. */
const refusedByOurs: Case[] = [
  { name: 'unknown top-level member', route: 'createEvent', edit: (b) => void (b.extra = true), pointer: '/extra' },
  { name: 'unknown member on the resource', route: 'createEvent', edit: (b) => void (b.data.relationships = {}), pointer: '/data/relationships' },
  { name: 'unknown event attribute', route: 'createEvent', edit: (b) => void (event(b).uniqueId = 'x'), pointer: '/data/attributes/uniqueId' },
  { name: 'unknown profile attribute', route: 'upsertProfile', edit: (b) => void (b.data.attributes.email_address = 'a@example.com'), pointer: '/data/attributes/email_address' },
  {
    name: 'anonymous_id on profile-import (only event profiles have it)',
    route: 'upsertProfile',
    edit: (b) => void (b.data.attributes.anonymous_id = 'anon-1'),
    pointer: '/data/attributes/anonymous_id',
  },
  { name: 'unknown location member', route: 'upsertProfile', edit: (b) => void (b.data.attributes.location.country_code = 'GB'), pointer: '/data/attributes/location/country_code' },
  {
    name: `${MAX_BULK_EVENTS + 1} events in one bulk request`,
    route: 'bulkCreateEvents',
    edit: (b) => {
      const template = bulkEntry(b).events.data[0];
      bulkEntry(b).events.data = repeat(MAX_BULK_EVENTS + 1, (i) => ({ ...template, attributes: { ...template.attributes, unique_id: `u-${i}` } }));
    },
    pointer: '/data/attributes/events-bulk-create/data',
  },
  {
    name: 'a repeated unique_id for one profile and metric in a bulk request',
    route: 'bulkCreateEvents',
    edit: (b) => void bulkEntry(b).events.data.push(structuredClone(bulkEntry(b).events.data[0])),
    pointer: '/data/attributes/events-bulk-create/data/0/attributes/events/data/',
  },
  {
    name: `${MAX_BULK_PROFILES + 1} profiles in one bulk import`,
    route: 'bulkImportProfiles',
    edit: (b) => void (b.data.attributes.profiles.data = repeat(MAX_BULK_PROFILES + 1, (i) => ({ type: 'profile', attributes: { external_id: `x-${i}` } }))),
    pointer: '/data/attributes/profiles/data',
  },
  {
    name: 'a profile over 100 KB in a bulk import',
    route: 'bulkImportProfiles',
    edit: (b) => void (profile(b).attributes.properties = { a: 'x'.repeat(60 * 1024), b: 'x'.repeat(60 * 1024) }),
    pointer: '/data/attributes/profiles/data/0',
  },
  {
    name: `${MAX_BULK_SUBSCRIPTIONS + 1} profiles in one subscription job`,
    route: 'bulkSubscribeProfiles',
    edit: (b) => void (b.data.attributes.profiles.data = repeat(MAX_BULK_SUBSCRIPTIONS + 1, () => profile(b))),
    pointer: '/data/attributes/profiles/data',
  },
  {
    name: 'historical_import without consented_at',
    route: 'bulkSubscribeProfiles',
    edit: (b) => void (b.data.attributes.historical_import = true),
    pointer: '/data/attributes/profiles/data/0/attributes/subscriptions/email/marketing/consented_at',
  },
  { name: 'metric name of 128 characters', route: 'createEvent', edit: (b) => void (event(b).metric.data.attributes.name = 'M'.repeat(128)), pointer: '/data/attributes/metric/data/attributes/name' },
  {
    name: '401 event properties',
    route: 'createEvent',
    edit: (b) => void (event(b).properties = Object.fromEntries(repeat(401, (i) => [`p${i}`, i]))),
    pointer: '/data/attributes/properties',
  },
  { name: 'event time before 1990', route: 'createEvent', edit: (b) => void (event(b).time = '1989-12-31T23:59:59Z'), pointer: '/data/attributes/time' },
  { name: 'event time over a year ahead', route: 'createEvent', edit: (b) => void (event(b).time = '2027-12-01T00:00:00Z'), pointer: '/data/attributes/time' },
  { name: 'a string over 100 KB', route: 'createEvent', edit: (b) => void (event(b).properties.Note = bigString), pointer: '/data/attributes/properties/Note' },
  {
    name: 'an array of 4,001 items',
    route: 'createEvent',
    edit: (b) => void (event(b).properties.Items = repeat(4_001, (i) => i)),
    pointer: '/data/attributes/properties/Items',
  },
  { name: 'properties nested 11 levels', route: 'createEvent', edit: (b) => void (event(b).properties.Deep = nested(11)), pointer: '/data/attributes/properties/Deep/' },
  {
    name: 'event profile without an identifier',
    route: 'createEvent',
    edit: (b) => void (event(b).profile.data.attributes = { first_name: 'Ann' }),
    pointer: '/data/attributes/profile/data/attributes',
  },
  {
    name: 'bulk entry profile without an identifier',
    route: 'bulkCreateEvents',
    edit: (b) => void (bulkEntry(b).profile.data.attributes = {}),
    pointer: '/data/attributes/events-bulk-create/data/0/attributes/profile/data/attributes',
  },
  { name: 'profile-import without an identifier', route: 'upsertProfile', edit: (b) => void delete b.data.attributes.external_id, pointer: '/data/attributes' },
  { name: 'an e-mail that is not an address', route: 'upsertProfile', edit: (b) => void (b.data.attributes.email = 'not-an-address'), pointer: '/data/attributes/email' },
  { name: 'a phone number not in E.164', route: 'upsertProfile', edit: (b) => void (b.data.attributes.phone_number = '07700 900123'), pointer: '/data/attributes/phone_number' },
  { name: 'a currency that is not ISO 4217', route: 'createEvent', edit: (b) => void (event(b).value_currency = 'euro'), pointer: '/data/attributes/value_currency' },
];

/** Bodies exactly at Klaviyo's limits: both must accept them. */
const atTheLimits: Omit<Case, 'pointer'>[] = [
  { name: 'a metric name of 127 characters', route: 'createEvent', edit: (b) => void (event(b).metric.data.attributes.name = 'M'.repeat(127)) },
  { name: '400 event properties', route: 'createEvent', edit: (b) => void (event(b).properties = Object.fromEntries(repeat(400, (i) => [`p${i}`, i]))) },
  { name: 'a string of 100 KB', route: 'createEvent', edit: (b) => void (event(b).properties.Note = 'x'.repeat(100 * 1024)) },
  { name: 'an array of 4,000 items', route: 'createEvent', edit: (b) => void (event(b).properties.Items = repeat(4_000, (i) => i)) },
  { name: 'properties nested 10 levels', route: 'createEvent', edit: (b) => void (event(b).properties.Deep = nested(10)) },
  { name: 'an event time in 1990 and no currency', route: 'createEvent', edit: (b) => void Object.assign(event(b), { time: '1990-01-01T00:00:00Z', value_currency: null }) },
  { name: 'nulls where the document allows them', route: 'upsertProfile', edit: (b) => void Object.assign(b.data.attributes, { first_name: null, location: null, email: null }) },
  {
    name: 'a profile found by id alone',
    route: 'bulkCreateEvents',
    edit: (b) => void (bulkEntry(b).profile.data = { type: 'profile', id: '01KAPROFILE0000000000000000', attributes: {} }),
  },
  {
    name: 'an import adding profiles to a list',
    route: 'bulkImportProfiles',
    edit: (b) => void (b.data.relationships = { lists: { data: [{ type: 'list', id: 'Xy12Ab' }] } }),
  },
  {
    name: 'a historical import with consented_at in the past',
    route: 'bulkSubscribeProfiles',
    edit: (b) => {
      b.data.attributes.historical_import = true;
      profile(b).attributes.subscriptions.email.marketing.consented_at = '2026-01-01T00:00:00Z';
    },
  },
];

function bodyOf(c: Omit<Case, 'pointer'>): Body {
  const body = validBodies[c.route]();
  return c.edit(body) ?? body;
}

// These need nothing but the mapping and the schemas, so they run in a clone without the vendor documents too.
describe('Klaviyo sandbox schemas', () => {
  it('builds requests for every operation the connector uses, bulk requests up to the 1,000-event ceiling', () => {
    expect(new Set(built.map((r) => operationOf(r.url)))).toEqual(new Set(Object.keys(KLAVIYO_OPERATIONS)));
    const perBulk = built
      .filter((r) => operationOf(r.url) === 'bulkCreateEvents')
      .map((r) => (r.body as Body).data.attributes['events-bulk-create'].data.reduce((n: number, e: Body) => n + e.attributes.events.data.length, 0));
    expect(Math.max(...perBulk)).toBe(MAX_BULK_EVENTS);
  });

  it('accept every request the connector builds, live and history, single and bulk', () => {
    for (const [i, request] of built.entries()) {
      expect(bodyProblem(schemas[operationOf(request.url)], request.body), `request ${i}`).toBeUndefined();
    }
    for (const route of Object.keys(validBodies) as BodyRoute[]) expect(bodyProblem(schemas[route], validBodies[route]()), route).toBeUndefined();
  });

  it.each(atTheLimits.map((c) => [c.name, c] as const))('accept %s', (_, c) => {
    expect(bodyProblem(schemas[c.route], bodyOf(c))).toBeUndefined();
  });

  it.each([...forbiddenByBoth, ...refusedByOurs].map((c) => [c.name, c] as const))('refuse %s, pointing at the member', (_, c) => {
    expect(bodyProblem(schemas[c.route], bodyOf(c))?.pointer).toMatch(new RegExp(`^${c.pointer}`));
  });

  it('no sandbox code imports test code or reads the vendor documents (it ships to users)', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../local/sandboxes/klaviyo');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(path.join(dir, file), 'utf8');
      expect(source, file).not.toMatch(/from '[^']*\/test\//);
      expect(source, file).not.toMatch(/shared\/specs|stable\.json/);
    }
  });
});

describeWithSpec(SPEC, 'Klaviyo sandbox schemas agree with the OpenAPI document', (spec) => {
  it.each(built.map((r, i) => [i, operationOf(r.url), r] as const))('connector request %i (%s) is valid by the document', (_, op, request) => {
    expect(specProblems(spec, op, request.body)).toEqual([]);
  });

  it.each(Object.keys(validBodies) as BodyRoute[])('the base %s body of the refusal cases is valid by the document', (route) => {
    expect(specProblems(spec, route, validBodies[route]())).toEqual([]);
  });

  it.each(atTheLimits.map((c) => [c.name, c] as const))('%s: valid by the document as by ours', (_, c) => {
    expect(specProblems(spec, c.route, bodyOf(c))).toEqual([]);
  });

  it.each(forbiddenByBoth.map((c) => [c.name, c] as const))('%s: refused by the document as by ours', (_, c) => {
    expect(specProblems(spec, c.route, bodyOf(c))).not.toEqual([]);
  });

  // Should a later revision encode one of these in its schemas, this fails and the case belongs with the ones above.
  it.each(refusedByOurs.map((c) => [c.name, c] as const))('%s: left open by the document\'s schemas', (_, c) => {
    expect(specProblems(spec, c.route, bodyOf(c))).toEqual([]);
  });

  it('the document still states the prose limits our schemas enforce', () => {
    const paths = spec.doc.paths as Record<string, { post: { description: string } }>;
    const said = (route: BodyRoute) => paths[PATHS[route]]?.post.description.replace(/,/g, '') ?? '';
    expect(said('bulkCreateEvents')).toMatch(new RegExp(`up to ${MAX_BULK_EVENTS} events per request`));
    expect(said('bulkCreateEvents')).toMatch(/payload size is 5MB.*string cannot exceed 100KB/s);
    expect(said('bulkImportProfiles')).toMatch(new RegExp(`up to ${MAX_BULK_PROFILES} profiles per request.*per-profile is 100KB`, 's'));
    expect(said('upsertProfile')).toMatch(/payload size is 100KB/);
    expect(said('bulkSubscribeProfiles')).toMatch(new RegExp(`subscription: ${MAX_BULK_SUBSCRIPTIONS}\\b`));
    const schemasDoc = (spec.doc.components as { schemas: Record<string, Body> }).schemas;
    const eventAttributes = schemasDoc.EventCreateQueryV2ResourceObject?.properties.attributes.properties;
    expect(eventAttributes.properties.description).toMatch(/400 properties/);
    expect(eventAttributes.time.description).toMatch(/after the year 1990.*up to 1 year in the future/s);
    expect(schemasDoc.MetricCreateQueryResourceObject?.properties.attributes.properties.name.description).toMatch(/less than 128 characters/);
    const bulkEventAttributes = schemasDoc.BaseEventCreateQueryBulkEntryResourceObject?.properties.attributes.properties;
    expect(bulkEventAttributes.unique_id.description).toMatch(/request will fail/);
  });

  it('the sandbox answers a refused body with a documented JSON:API error pointing at the member', async () => {
    const sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY] });
    try {
      const post = (route: BodyRoute, body: unknown) =>
        fetch(`${sandbox.url}${PATHS[route]}`, {
          method: 'POST',
          headers: { Authorization: `Klaviyo-API-Key ${KLAVIYO_TEST_KEY}`, revision: '2026-07-15', 'content-type': 'application/vnd.api+json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
      for (const c of [...forbiddenByBoth.slice(0, 3), ...refusedByOurs.slice(0, 3)]) {
        const response = await post(c.route, bodyOf(c));
        const body = (await response.json()) as { errors: { code: string; source: { pointer: string } }[] };
        expect(response.status, c.name).toBe(400);
        expect(validateResponse(spec, 'POST', PATHS[c.route], 400, body)).toEqual([]);
        expect(body.errors).toHaveLength(1);
        expect(body.errors[0]?.code).toBe('invalid');
        expect(body.errors[0]?.source.pointer).toMatch(new RegExp(`^${c.pointer}`));
      }
      const tooBig = await post('upsertProfile', JSON.stringify(validBodies.upsertProfile()).padEnd(100 * 1024 + 1));
      expect(tooBig.status).toBe(413);
      expect(validateResponse(spec, 'POST', PATHS.upsertProfile, 413, await tooBig.json())).toEqual([]);
      expect(sandbox.store.events).toHaveLength(0);
      expect(sandbox.store.profiles.size).toBe(0);

      // A profile referenced by id alone must be one Klaviyo knows; once it exists, events land on it.
      const byId = (id: string) => {
        const body = validBodies.bulkCreateEvents();
        bulkEntry(body).profile.data = { type: 'profile', id, attributes: {} };
        return body;
      };
      const unknown = await post('bulkCreateEvents', byId('01KAPROFILE0000000000000000'));
      expect(unknown.status).toBe(404);
      expect(validateResponse(spec, 'POST', PATHS.bulkCreateEvents, 404, await unknown.json())).toEqual([]);
      const created = (await (await post('upsertProfile', validBodies.upsertProfile())).json()) as { data: { id: string } };
      expect((await post('bulkCreateEvents', byId(created.data.id))).status).toBe(202);
      expect(new Set(sandbox.store.events.map((e) => e.profileId))).toEqual(new Set([created.data.id]));
      expect(sandbox.store.profiles.size).toBe(1);
    } finally {
      await sandbox.close();
    }
  });
});
