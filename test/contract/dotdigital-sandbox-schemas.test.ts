/**
 * The Dotdigital sandbox's own request schemas (local/sandboxes/dotdigital/schemas.ts) against Dotdigital's OpenAPI
 * documents. Every request the connector builds or sends (live and history forms, account setup, enrolment, reads) is
 * accepted by both; requests the documents forbid are refused by both. Where Dotdigital states a rule outside a
 * schema keyword (no nested arrays in insight data, data field names, the closure of merged `allOf` members) the test
 * checks the document that states it. The sandbox's answers to refused requests are checked without the documents,
 * so a fresh clone runs them too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOTDIGITAL_DISCOVERY_URL, bulkRequests, dotdigitalRequestsFor, dotdigitalWorkForConfig } from '../../functions/shared/dotdigital/requests';
import type { BusinessEvent } from '../../functions/shared/events';
import { DOTDIGITAL_SANDBOX_PASSWORD, DOTDIGITAL_SANDBOX_USER, dotdigitalOperation } from '../../local/sandboxes/dotdigital';
import { MAX_BODY_BYTES, type RouteName, requestProblems } from '../../local/sandboxes/dotdigital/schemas';
import { type DotdigitalRig, dotdigitalConfig, startDotdigitalRig } from '../support/dotdigitalFixtures';
import { DOTDIGITAL_SPECS, dotdigitalSpecOperation } from '../support/dotdigitalSpecs';
import { orderLifeEvents } from '../support/klaviyoFixtures';
import { describeWithSpec, loadSpec, validateRequest } from '../support/openapi';

type Json = Record<string, unknown>;
const DATA_FIELDS_DOC = 'dotdigital/Dotdigital-dotdigital-contact-data-fields-2.0.0-resolved-1.yaml';

const config = dotdigitalConfig();
/** Order lives over both marketplaces (relay policy transactional and never), one to five lines, live and history. */
const events: BusinessEvent[] = [
  ...orderLifeEvents('debenhams', 'DS1-A'),
  ...orderLifeEvents('decathlon', 'DS2-A', { lines: 5 }),
  ...orderLifeEvents('debenhams', 'DS3-A', { lines: 1, customerId: 'C-2002' }),
  ...orderLifeEvents('decathlon', 'DS4-A', { backfill: true }),
];

function parts(method: string, url: string, body: unknown) {
  const { pathname, searchParams } = new URL(url, DOTDIGITAL_DISCOVERY_URL);
  const operation = dotdigitalOperation(method, pathname);
  if (!operation) throw new Error(`not an operation the sandbox serves: ${method} ${pathname}`);
  return { operation, request: { path: operation.params, query: Object.fromEntries(searchParams), body } };
}

const ours = (method: string, url: string, body?: unknown) => {
  const { operation, request } = parts(method, url, body);
  return requestProblems(operation.route, request);
};

/** The (allOf-merged) document's verdict; the record PUT documents its body as a JSON document in a string. */
function theirs(method: string, url: string, body?: unknown): string[] {
  const { pathname, searchParams } = new URL(url, DOTDIGITAL_DISCOVERY_URL);
  const { spec, template, route } = dotdigitalSpecOperation(method, pathname);
  const sent = route === 'putRecord' && body !== undefined ? JSON.stringify(body) : body;
  return validateRequest(spec, method, template, { body: sent, query: Object.fromEntries(searchParams) });
}

// Valid bodies as the connector builds them, to break one rule at a time.
const [confirmed] = orderLifeEvents('debenhams', 'BAD-A') as [BusinessEvent];
const [patch, put] = dotdigitalRequestsFor(confirmed, config);
const [contactImport, insightImport] = dotdigitalRequestsFor(confirmed, config, { backfill: true });
if (!patch || !put || !contactImport || !insightImport) throw new Error('the connector no longer builds the expected requests');
const CONTACT = new URL(patch.url).pathname;
const RECORD = new URL(put.url).pathname;
const patchBody = patch.body as Json;
const contactEntry = (contactImport.body as { contacts: Json[] }).contacts[0] as Json;
const insightBody = insightImport.body as Json & { records: Json[] };
const record = insightBody.records[0] as Json;

const consent = { text: 'I agree', dateTimeConsented: '2026-11-22T10:00:00Z', url: 'https://shop.example/consent', ipAddress: '192.0.2.1', userAgent: 'Mozilla/5.0' };
const contact = (changes: Json) => ({ ...patchBody, ...changes });
const importing = (changes: Json) => ({ ...(contactImport.body as Json), contacts: [{ ...contactEntry, ...changes }] });
const insight = (changes: Json) => ({ ...insightBody, ...changes });
const insightRecord = (changes: Json) => insight({ records: [{ ...record, ...changes }] });

/**
 * Requests that must be refused. `spec`: `both` when the merged document refuses it too; `ours` when the document
 * leaves it open and the rule comes from Dotdigital's data model or prose (stated in `why`); `literal` when only the
 * document read without merging its `allOf` members names the refused member; `dataFieldsDoc` when the rule is in
 * Dotdigital's data fields reference rather than the v2 document.
 */
interface Bad {
  name: string;
  method: string;
  url: string;
  body?: unknown;
  spec: 'both' | 'ours' | 'literal' | 'dataFieldsDoc';
  why?: string;
}

const BAD: Bad[] = [
  { name: 'contact: no body', method: 'PATCH', url: CONTACT, spec: 'both' },
  { name: 'contact: no list', method: 'PATCH', url: CONTACT, body: contact({ lists: [] }), spec: 'both' },
  { name: 'contact: over 100 lists', method: 'PATCH', url: CONTACT, body: contact({ lists: Array.from({ length: 101 }, (_, i) => i + 1) }), spec: 'both' },
  { name: 'contact: list id as text', method: 'PATCH', url: CONTACT, body: contact({ lists: ['4001'] }), spec: 'both' },
  { name: 'contact: data fields not an object', method: 'PATCH', url: CONTACT, body: contact({ dataFields: 'FIRSTNAME=J' }), spec: 'both' },
  { name: 'contact: data field holding an object', method: 'PATCH', url: CONTACT, body: contact({ dataFields: { FIRSTNAME: { given: 'J' } } }), spec: 'ours', why: 'data fields are String, Numeric, Date or Boolean' },
  { name: 'contact: custom identifier not a string', method: 'PATCH', url: CONTACT, body: contact({ identifiers: { mirakl_id: 42 } }), spec: 'both' },
  { name: 'contact: invented opt-in type', method: 'PATCH', url: CONTACT, body: contact({ channelProperties: { email: { optInType: 'implied' } } }), spec: 'both' },
  { name: 'contact: e-mail status pendingOptIn', method: 'PATCH', url: CONTACT, body: contact({ channelProperties: { email: { status: 'pendingOptIn' } } }), spec: 'both' },
  { name: 'contact: e-mail status noSubscription', method: 'PATCH', url: CONTACT, body: contact({ channelProperties: { email: { status: 'noSubscription' } } }), spec: 'both' },
  { name: 'contact: unknown e-mail channel member', method: 'PATCH', url: CONTACT, body: contact({ channelProperties: { email: { consent: true } } }), spec: 'both' },
  { name: 'contact: unknown channel', method: 'PATCH', url: CONTACT, body: contact({ channelProperties: { push: { status: 'subscribed' } } }), spec: 'both' },
  { name: 'contact: consent record missing members', method: 'PATCH', url: CONTACT, body: contact({ consentRecords: [{ text: 'yes' }] }), spec: 'both' },
  { name: 'contact: six consent records', method: 'PATCH', url: CONTACT, body: contact({ consentRecords: Array.from({ length: 6 }, () => consent) }), spec: 'both' },
  { name: 'contact: empty consent records', method: 'PATCH', url: CONTACT, body: contact({ consentRecords: [] }), spec: 'both' },
  { name: 'contact: consent record with no IP address', method: 'PATCH', url: CONTACT, body: contact({ consentRecords: [{ ...consent, ipAddress: 'marketplace' }] }), spec: 'both' },
  { name: 'contact: consent record with an unknown member', method: 'PATCH', url: CONTACT, body: contact({ consentRecords: [{ ...consent, source: 'mirakl' }] }), spec: 'both' },
  { name: 'contact: preference without opt-in flag', method: 'PATCH', url: CONTACT, body: contact({ preferences: [{ id: 1 }] }), spec: 'both' },
  { name: 'contact: unknown merge option', method: 'PATCH', url: `${CONTACT}?merge-option=replace`, body: patchBody, spec: 'both' },
  { name: 'contact: unknown query parameter', method: 'PATCH', url: `${CONTACT}?mergeOption=overwrite`, body: patchBody, spec: 'both' },
  { name: 'contact: identifier name with a space', method: 'PATCH', url: '/contacts/v3/mirakl%20id/x', body: patchBody, spec: 'ours', why: 'path parameter pattern' },
  { name: 'contact: identifier value over 256 characters', method: 'PATCH', url: `/contacts/v3/mirakl_id/${'x'.repeat(257)}`, body: patchBody, spec: 'ours', why: 'path parameter length' },
  { name: 'contact import: no contacts', method: 'PUT', url: '/contacts/v3/import', body: { ...(contactImport.body as Json), contacts: [] }, spec: 'both' },
  { name: 'contact import: contacts missing', method: 'PUT', url: '/contacts/v3/import', body: { mergeOption: 'overwrite' }, spec: 'both' },
  { name: 'contact import: no match identifier', method: 'PUT', url: '/contacts/v3/import', body: importing({ matchIdentifier: undefined }), spec: 'both' },
  { name: 'contact import: no identifiers', method: 'PUT', url: '/contacts/v3/import', body: importing({ identifiers: undefined }), spec: 'both' },
  { name: 'contact import: merge option spelt as the PATCH parameter', method: 'PUT', url: '/contacts/v3/import', body: { ...(contactImport.body as Json), mergeOption: 'overwrite-if-empty' }, spec: 'both' },
  { name: 'contact import: negative contact id', method: 'PUT', url: '/contacts/v3/import', body: importing({ identifiers: { contactId: -1 } }), spec: 'both' },
  { name: 'contact import: invented opt-in type', method: 'PUT', url: '/contacts/v3/import', body: importing({ channelProperties: { email: { optInType: 'marketplace' } } }), spec: 'both' },
  { name: 'insight import: no records', method: 'PUT', url: '/insightData/v3/import', body: insight({ records: [] }), spec: 'both' },
  { name: 'insight import: unknown collection type', method: 'PUT', url: '/insightData/v3/import', body: insight({ collectionType: 'order' }), spec: 'both' },
  { name: 'insight import: no collection scope', method: 'PUT', url: '/insightData/v3/import', body: insight({ collectionScope: undefined }), spec: 'both' },
  { name: 'insight import: collection name with a space', method: 'PUT', url: '/insightData/v3/import', body: insight({ collectionName: 'my orders' }), spec: 'both' },
  { name: 'insight import: record without key', method: 'PUT', url: '/insightData/v3/import', body: insightRecord({ key: undefined }), spec: 'both' },
  { name: 'insight import: record document an array', method: 'PUT', url: '/insightData/v3/import', body: insightRecord({ json: [record.json] }), spec: 'both' },
  { name: 'insight import: contact identity without value', method: 'PUT', url: '/insightData/v3/import', body: insightRecord({ contactIdentity: { identifier: 'mirakl_id' } }), spec: 'both' },
  { name: 'insight import: unknown record member', method: 'PUT', url: '/insightData/v3/import', body: insightRecord({ ttl: 30 }), spec: 'literal' },
  { name: 'insight record: array directly inside an array', method: 'PUT', url: RECORD, body: { ...(put.body as Json), products: [[{ sku: 'A' }]] }, spec: 'ours', why: 'JsonContainsNestedArray' },
  { name: 'insight record: document an array', method: 'PUT', url: RECORD, body: [put.body], spec: 'ours', why: 'an insight record is a JSON object' },
  { name: 'insight record: collection name with a space', method: 'PUT', url: RECORD.replace('/Orders/', '/my%20orders/'), body: put.body, spec: 'ours', why: 'path parameter pattern' },
  { name: 'collection: no type', method: 'POST', url: '/insightData/v3/collections/Orders?collectionScope=contact', spec: 'both' },
  { name: 'collection: unknown scope', method: 'POST', url: '/insightData/v3/collections/Orders?collectionScope=global&collectionType=orders', spec: 'both' },
  { name: 'custom identifier: name with a space', method: 'POST', url: '/configuration/v3/customIdentifiers', body: { name: 'mirakl id' }, spec: 'both' },
  { name: 'custom identifier: name over 50 characters', method: 'POST', url: '/configuration/v3/customIdentifiers', body: { name: 'x'.repeat(51) }, spec: 'both' },
  { name: 'custom identifier: no name', method: 'POST', url: '/configuration/v3/customIdentifiers', body: {}, spec: 'both' },
  { name: 'data field: unknown type', method: 'POST', url: '/v2/data-fields', body: { name: 'MIRAKL_ID', type: 'Text' }, spec: 'both' },
  { name: 'data field: unknown member', method: 'POST', url: '/v2/data-fields', body: { name: 'MIRAKL_ID', type: 'String', format: 'id' }, spec: 'both' },
  { name: 'data field: name over 20 characters', method: 'POST', url: '/v2/data-fields', body: { name: 'X'.repeat(21), type: 'String' }, spec: 'dataFieldsDoc' },
  { name: 'data field: no type', method: 'POST', url: '/v2/data-fields', body: { name: 'MIRAKL_ID' }, spec: 'dataFieldsDoc' },
  { name: 'enrolment: programme id as text', method: 'POST', url: '/v2/programs/enrolments', body: { programId: '7001', contacts: [1001] }, spec: 'both' },
  { name: 'enrolment: contact id as text', method: 'POST', url: '/v2/programs/enrolments', body: { programId: 7001, contacts: ['1001'] }, spec: 'both' },
  { name: 'enrolment: unknown member', method: 'POST', url: '/v2/programs/enrolments', body: { programId: 7001, contacts: [1001], listId: 4002 }, spec: 'both' },
  { name: 'enrolment: no programme', method: 'POST', url: '/v2/programs/enrolments', body: { contacts: [1001] }, spec: 'ours', why: 'an enrolment names its programme' },
  { name: 'import status: unknown query parameter', method: 'GET', url: '/contacts/v3/import/abc?verbose=true', spec: 'both' },
  { name: 'collection records: page of 0', method: 'GET', url: '/insightData/v3/contacts/Orders?limit=0', spec: 'both' },
  { name: 'collection records: page over 5,000', method: 'GET', url: '/insightData/v3/contacts/Orders?limit=5001', spec: 'both' },
];

describe('Dotdigital sandbox schemas', () => {
  it('accept every request the connector plans, live and history, one event at a time and in batches', () => {
    for (const backfill of [false, true]) {
      for (const event of events) {
        for (const request of dotdigitalRequestsFor(event, config, { backfill })) {
          expect(ours(request.method, request.url, request.body), `${request.method} ${request.url}`).toEqual([]);
        }
      }
    }
    const works = events.map((e) => dotdigitalWorkForConfig(e, config, { backfill: true }));
    for (const request of bulkRequests(works, DOTDIGITAL_DISCOVERY_URL, 'Orders')) {
      expect(ours(request.method, request.url, request.body), `${request.method} ${request.url}`).toEqual([]);
    }
  });

  it.each(BAD.map((bad) => [bad.name, bad] as const))('refuse %s', (_, bad) => {
    expect(ours(bad.method, bad.url, bad.body)).not.toEqual([]);
  });
});

describe('Dotdigital sandbox: refused requests get Dotdigital answers', () => {
  let rig: DotdigitalRig;
  const headers = {
    Authorization: `Basic ${Buffer.from(`${DOTDIGITAL_SANDBOX_USER}:${DOTDIGITAL_SANDBOX_PASSWORD}`).toString('base64')}`,
    'content-type': 'application/json',
  };
  const send = (method: string, path: string, body?: unknown) =>
    fetch(`${rig.sandbox.apiEndpoint}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    rig = await startDotdigitalRig({ sandbox: { importPolls: 0 } });
    await rig.connector.deliverOne(confirmed);
  });
  afterAll(() => rig.close());

  it('a v3 body our schemas refuse is a 400 naming the member, in the service namespace', async () => {
    const response = await send('PATCH', CONTACT, contact({ channelProperties: { email: { optInType: 'implied' } } }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      errorCode: 'contacts:validationFailed',
      details: [expect.objectContaining({ item: 'body.channelProperties.email.optInType' })],
    });
    const record = await send('PUT', RECORD, { ...(put.body as Json), products: [[1, 2]] });
    expect(record.status).toBe(400);
    expect(await record.json()).toMatchObject({ errorCode: 'insightData:validationFailed' });
  });

  it('a v2 body our schemas refuse is a 400 carrying ERROR_PARAMETER_INVALID; badly formed JSON is badJson', async () => {
    const response = await send('POST', '/v2/programs/enrolments', { programId: '7001', contacts: [1001] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/^ERROR_PARAMETER_INVALID: body\.programId/);
    const malformed = await fetch(`${rig.sandbox.apiEndpoint}${CONTACT}`, { method: 'PATCH', headers, body: '{"lists":' });
    expect(await malformed.json()).toMatchObject({ errorCode: 'contacts:badJson' });
  });

  it('an import record with an array inside an array fails in the import report, as Dotdigital reports it', async () => {
    const started = await send('PUT', '/insightData/v3/import', insightRecord({ json: { ...(record.json as Json), products: [[1]] } }));
    expect(started.status).toBe(202);
    const { importId } = (await started.json()) as { importId: string };
    const report = await (await send('GET', `/insightData/v3/import/${importId}`)).json();
    expect(report).toMatchObject({ status: 'Complete', failures: [expect.objectContaining({ failureReason: 'JsonContainsNestedArray' })] });
  });

  it('an import body over 50 MB is refused whole', async () => {
    const huge = importing({ dataFields: { FIRSTNAME: 'x'.repeat(MAX_BODY_BYTES) } });
    expect((await send('PUT', '/contacts/v3/import', huge)).status).toBe(413);
  });

  it('a consent write Dotdigital would take is taken, and counted so tests can prove MarketBridge never makes one', async () => {
    const before = rig.sandbox.store.consentWrites;
    const response = await send('PATCH', CONTACT, contact({ consentRecords: [consent] }));
    expect(response.status).toBe(200);
    expect(rig.sandbox.store.consentWrites).toBe(before + 1);
  });
});

describeWithSpec(DOTDIGITAL_SPECS.contacts, "Dotdigital sandbox schemas agree with Dotdigital's documents", () => {
  it('every request the connector plans is accepted by the documents too', () => {
    for (const backfill of [false, true]) {
      for (const event of events) {
        for (const request of dotdigitalRequestsFor(event, config, { backfill })) {
          expect(theirs(request.method, request.url, request.body), `${request.method} ${request.url}`).toEqual([]);
        }
      }
    }
    const works = events.map((e) => dotdigitalWorkForConfig(e, config, { backfill: true }));
    for (const request of bulkRequests(works, DOTDIGITAL_DISCOVERY_URL, 'Orders')) {
      expect(theirs(request.method, request.url, request.body), `${request.method} ${request.url}`).toEqual([]);
    }
  });

  describe('every request the connector and its enrolment run send to the sandbox (setup, live, enrolment, history, reads)', () => {
    let rig: DotdigitalRig;
    beforeAll(async () => {
      rig = await startDotdigitalRig({ sandbox: { importPolls: 1 } });
      for (const event of [...orderLifeEvents('debenhams', 'DS5-A'), ...orderLifeEvents('decathlon', 'DS6-A')]) await rig.connector.deliverOne(event);
      // The scheduled run makes the enrolment call the connector recorded.
      await rig.runEnrolments();
      await rig.connector.deliverMany?.([...orderLifeEvents('debenhams', 'DS5-A', { backfill: true }), ...orderLifeEvents('decathlon', 'DS7-A', { backfill: true })]);
    });
    afterAll(() => rig.close());

    it('covers every operation the connector uses', () => {
      const used = new Set(rig.sandbox.requests.map((r) => r.route as RouteName));
      for (const route of ['accountInfo', 'listCustomIdentifiers', 'createCustomIdentifier', 'listDataFields', 'createDataField', 'createCollection', 'upsertContact', 'getRecord', 'putRecord', 'enrol', 'listCollections', 'listRecords', 'importContacts', 'contactImportStatus', 'importInsight', 'insightImportStatus'] as const) {
        expect(used, route).toContain(route);
      }
    });

    it('is accepted by our schemas and by the documents', () => {
      for (const sent of rig.sandbox.requests) {
        const url = `${sent.path}${sent.search}`;
        expect(sent.status, `${sent.method} ${url}`).toBeLessThan(sent.method === 'GET' ? 500 : 400);
        expect(ours(sent.method, url, sent.body), `${sent.method} ${url}`).toEqual([]);
        expect(theirs(sent.method, url, sent.body), `${sent.method} ${url}`).toEqual([]);
      }
    });
  });

  it.each(BAD.map((bad) => [bad.name, bad] as const))('%s: refused where the documents say so', (_, bad) => {
    const { pathname, searchParams } = new URL(bad.url, DOTDIGITAL_DISCOVERY_URL);
    const query = Object.fromEntries(searchParams);
    switch (bad.spec) {
      case 'both':
        expect(theirs(bad.method, bad.url, bad.body)).not.toEqual([]);
        break;
      case 'ours':
        // The document's schemas leave this open (the helper reads no path parameters); the rule is `why`.
        expect(bad.why).toBeTruthy();
        expect(theirs(bad.method, bad.url, bad.body)).toEqual([]);
        break;
      case 'literal': {
        const { template } = dotdigitalSpecOperation(bad.method, pathname);
        const literal = loadSpec(DOTDIGITAL_SPECS.insightData);
        expect(theirs(bad.method, bad.url, bad.body)).toEqual([]);
        expect(validateRequest(literal, bad.method, template, { body: bad.body, query }).join('\n')).toContain('(ttl)');
        break;
      }
      case 'dataFieldsDoc':
        expect(theirs(bad.method, bad.url, bad.body)).toEqual([]);
        expect(validateRequest(loadSpec(DATA_FIELDS_DOC), bad.method, '/v2/data-fields', { body: bad.body, query })).not.toEqual([]);
        break;
    }
  });

  it('the insight document names the nested-array rule our record schema enforces', () => {
    expect(JSON.stringify(loadSpec(DOTDIGITAL_SPECS.insightData).doc)).toContain('"JsonContainsNestedArray"');
  });
});
