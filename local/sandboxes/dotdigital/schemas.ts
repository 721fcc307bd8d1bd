/**
 * The requests the Dotdigital sandbox accepts, written from Dotdigital's published contract (its v2 and v3 API
 * reference and OpenAPI documents) for the operations MarketBridge calls: region discovery, custom identifiers, data
 * fields, insight collections, the v3 contact upsert (identifiers, data fields, list membership) and read, the async
 * contact and insight imports and their status, the insight record write and reads, programme enrolment and contact
 * deletion (erasure); plus the suppression calls the sandbox serves only to catch a wrong one. The sandbox ships with the product, so these
 * schemas are its only check; a contract test keeps them in agreement with the vendor documents where available.
 *
 * Objects Dotdigital closes stay closed (channel properties, consent records, insight import records, v2 models);
 * objects it leaves open stay open, since it ignores members it does not know there. Rules that need the account's
 * state (which identifiers, data fields and lists exist, a collection's fixed schema) and the rules an import applies
 * record by record (a contact identity per contact-scoped record, no nested arrays) are the sandbox's, as Dotdigital
 * reports them: an error naming the value, or a failure in the import report.
 */
import * as z from 'zod';
import { hasNestedArray } from './store';

/** Dotdigital's ceiling on a contact or insight import request body. */
export const MAX_BODY_BYTES = 50 * 1024 * 1024;

export type RouteName =
  | 'accountInfo'
  | 'listCustomIdentifiers'
  | 'createCustomIdentifier'
  | 'listDataFields'
  | 'createDataField'
  | 'createCollection'
  | 'listCollections'
  | 'contactImportStatus'
  | 'getContact'
  | 'upsertContact'
  | 'deleteContact'
  | 'listRecords'
  | 'getRecord'
  | 'putRecord'
  | 'importContacts'
  | 'importInsight'
  | 'insightImportStatus'
  | 'enrol'
  | 'unsubscribe'
  | 'suppress';

/** What one request carries: path parameters by name (decoded), query parameters, the parsed JSON body. */
export interface RequestParts {
  path?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

/** One reason to refuse a request, in the shape of a v3 error's `details` entry. */
export interface RequestProblem {
  item: string;
  description: string;
}

interface RequestSchema {
  path?: z.ZodType;
  query?: z.ZodType;
  /** Absent: the operation takes no body. */
  body?: z.ZodType;
}

const int32 = z.int32();
const identifierName = z.string().regex(/^[-A-Za-z0-9_]{1,50}$/, 'must be 1 to 50 letters, digits, hyphens or underscores');
const identifierValue = z.string().min(1).max(256);
const collectionName = z
  .string()
  .max(255)
  .regex(/^[-A-Za-z_][-A-Za-z0-9_]{1,255}$/, 'must start with a letter, hyphen or underscore and hold only letters, digits, hyphens or underscores');
const COLLECTION_TYPES = [
  'cartInsight',
  'catalog',
  'consentInsight',
  'custom',
  'easyEditorExtensions',
  'nostoEmailCampaigns',
  'orders',
  'productCategories',
  'webInsight',
  'wishList',
] as const;
const collectionScope = z.enum(['account', 'contact']);
/** Query values arrive as text; integers are read as Dotdigital reads them. */
const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.int().min(min).max(max));

// A parameter Dotdigital does not know is ignored there; here it is refused, since a misspelt one silently
// changes what the call does.
const noQuery = z.strictObject({});

// Identifier values: e-mail addresses and E.164 mobile numbers, as Dotdigital checks them (`invalidId`).
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** Whether a value can address a contact by this identifier (custom identifiers take any non-empty string). */
export function identifierValueValid(identifier: string, value: string): boolean {
  if (identifier === 'email') return EMAIL.test(value);
  if (identifier === 'mobileNumber') return E164.test(value);
  if (identifier === 'contactId') return /^\d+$/.test(value);
  return value.length > 0;
}

/** Data fields hold strings, numbers, dates (ISO strings) or booleans; null clears a field. */
const dataFields = z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean(), z.null()]));

const emailIdentifiers = { email: z.string().optional(), mobileNumber: z.string().optional() };
/** Custom identifiers (any other member) must exist in the account and take string values. */
const identifiers = z.object(emailIdentifiers).catchall(z.string());
/** An import may also match on the contact's id, a non-negative integer. */
const importIdentifiers = z.object({ ...emailIdentifiers, contactId: z.int().min(0).optional() }).catchall(z.string());

const channelStatus = z.enum(['noSubscription', 'subscribed', 'unsubscribed', 'suppressed']);
const RESUBSCRIBE_LOCALES = [
  'cs-CS', 'da-DA', 'de-DE', 'el-EL', 'en-EN', 'es-ES', 'es', 'fi-FI', 'fr-FR', 'hu-HU',
  'it-IT', 'nl-NL', 'nb-NO', 'pl-PL', 'pt-PT', 'ru-RU', 'se-SE', 'sk-SK', 'tr-TR', 'zh-CN',
] as const;
/**
 * The email channel's settable properties. `resubscribeOptions` comes from a second `allOf` member of the same
 * document, which Dotdigital's generators merge into this closed object.
 */
const emailChannel = z.strictObject({
  emailType: z.enum(['plainText', 'html']).optional(),
  optInType: z.enum(['unknown', 'single', 'double', 'verifiedDouble']).optional(),
  // Settable statuses only: `pendingOptIn`, `noSubscription` and the bounce states are Dotdigital's to set.
  status: z.enum(['subscribed', 'unsubscribed', 'suppressed']).optional(),
  resubscribeOptions: z
    .object({
      resubscribeWithNoChallenge: z.boolean().optional(),
      preferredLocale: z.enum(RESUBSCRIBE_LOCALES).optional(),
      redirectUrlAfterChallenge: z.url().optional(),
    })
    .optional(),
});
const channelProperties = z.strictObject({
  email: emailChannel.optional(),
  sms: z.strictObject({ status: channelStatus.optional() }).optional(),
  whatsApp: z.strictObject({ status: channelStatus.optional() }).optional(),
});
const consentRecord = z.strictObject({
  text: z.string().min(1),
  dateTimeConsented: z.iso.datetime({ offset: true }),
  url: z.url(),
  ipAddress: z.union([z.ipv4(), z.ipv6()]),
  userAgent: z.string().min(1),
});
/** What a contact write may set besides its identifiers. */
const contactFields = {
  dataFields: dataFields.optional(),
  channelProperties: channelProperties.optional(),
  lists: z.array(int32).min(1).max(100).optional(),
  preferences: z.array(z.object({ id: int32, isOptedIn: z.boolean() })).min(1).optional(),
  consentRecords: z.array(consentRecord).min(1).max(5).optional(),
};

const upsertContactBody = z.object({ identifiers: identifiers.optional(), ...contactFields });
const importContactsBody = z.object({
  mergeOption: z.enum(['overwrite', 'overwriteIfNotEmpty', 'overwriteIfEmpty']).optional(),
  contacts: z.array(z.object({ matchIdentifier: z.string(), identifiers: importIdentifiers, ...contactFields })).min(1),
});

/** An insight record's document: a JSON object in which no array sits directly inside another. */
const insightRecordJson = z
  .record(z.string(), z.unknown())
  .refine((json) => !hasNestedArray(json), 'JsonContainsNestedArray: an array directly inside an array');
const importInsightBody = z.object({
  collectionName,
  collectionScope,
  collectionType: z.enum(COLLECTION_TYPES),
  records: z
    .array(
      z.strictObject({
        contactIdentity: z.object({ identifier: z.string(), value: z.string().nullable() }).optional(),
        key: z.string(),
        // Document rules (nested arrays, the collection's schema) fail the record in the import report, not the call.
        json: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1),
});

const contactPath = z.object({ identifier: identifierName, value: identifierValue });
const importIdPath = z.object({ importId: z.string().min(1) });

/** v2 models are closed; the values are the documented enums without the generator's `NotAvailableInThisVersion`. */
const createDataFieldBody = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be 1 to 20 letters, digits, hyphens or underscores'),
  type: z.enum(['String', 'Numeric', 'Date', 'Boolean']),
  visibility: z.enum(['Private', 'Public']).optional(),
  defaultValue: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
});
const enrolmentBody = z.strictObject({
  // The documented model is shared with the answer; a request names the programme and whom to enrol.
  id: z.string().optional(),
  programId: int32,
  status: z.enum(['Processing', 'Finished']).optional(),
  dateCreated: z.iso.datetime({ offset: true }).optional(),
  contacts: z.array(int32).nullish(),
  addressBooks: z.array(int32).nullish(),
});
const v2Contact = z.strictObject({
  id: int32.optional(),
  email: z.string().min(1),
  optInType: z.enum(['Unknown', 'Single', 'Double', 'VerifiedDouble']).nullish(),
  emailType: z.enum(['PlainText', 'Html']).nullish(),
  dataFields: z.array(z.strictObject({ key: z.string().nullish(), value: z.unknown() })).nullish(),
  status: z
    .enum([
      'Subscribed', 'Unsubscribed', 'SoftBounced', 'HardBounced', 'IspComplained', 'MailBlocked', 'PendingOptIn',
      'DirectComplaint', 'Deleted', 'SharedSuppression', 'Suppressed', 'NotAllowed', 'DomainSuppression', 'NoMxRecord',
    ])
    .optional(),
});

const SCHEMAS: Record<RouteName, RequestSchema> = {
  accountInfo: { query: noQuery },
  listCustomIdentifiers: { query: noQuery },
  createCustomIdentifier: { query: noQuery, body: z.object({ name: identifierName }) },
  listDataFields: { query: noQuery },
  createDataField: { query: noQuery, body: createDataFieldBody },
  createCollection: {
    path: z.object({ collectionName }),
    query: z.strictObject({ collectionScope, collectionType: z.enum(COLLECTION_TYPES) }),
  },
  listCollections: { query: noQuery },
  contactImportStatus: { path: importIdPath, query: noQuery },
  getContact: { path: contactPath, query: noQuery },
  deleteContact: { path: contactPath, query: noQuery },
  upsertContact: {
    path: contactPath,
    query: z.strictObject({ 'merge-option': z.enum(['overwrite', 'overwrite-if-not-empty', 'overwrite-if-empty']).optional() }),
    body: upsertContactBody,
  },
  listRecords: {
    path: z.object({ collectionName }),
    query: z.strictObject({
      '~modified': z.string().regex(/^gte::\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/).optional(),
      limit: intParam(1, 5_000).optional(),
      marker: z.string().optional(),
    }),
  },
  getRecord: { path: contactPath.extend({ collectionName, recordId: z.string().min(1) }), query: noQuery },
  putRecord: { path: contactPath.extend({ collectionName, recordId: z.string().min(1) }), query: noQuery, body: insightRecordJson },
  importContacts: { query: noQuery, body: importContactsBody },
  importInsight: { query: noQuery, body: importInsightBody },
  insightImportStatus: { path: importIdPath, query: noQuery },
  enrol: { query: noQuery, body: enrolmentBody },
  unsubscribe: { query: noQuery, body: v2Contact },
  suppress: { query: noQuery, body: z.array(z.strictObject({ id: int32.optional(), email: z.string().nullish() })).min(1) },
};

function issues(part: string, schema: z.ZodType, value: unknown): RequestProblem[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const item = [part, ...issue.path.map(String)].join('.');
    return { item, description: `${item}: ${issue.message}` };
  });
}

/** Everything wrong with a request to one route, or an empty list when Dotdigital would take it. */
export function requestProblems(route: RouteName, request: RequestParts): RequestProblem[] {
  const schema = SCHEMAS[route];
  const problems = [
    ...(schema.path ? issues('path', schema.path, request.path ?? {}) : []),
    ...(schema.query ? issues('query', schema.query, request.query ?? {}) : []),
  ];
  if (schema.body) {
    problems.push(
      ...(request.body === undefined
        ? [{ item: 'body', description: 'body: a request body is required' }]
        : issues('body', schema.body, request.body)),
    );
  } else if (request.body !== undefined) {
    problems.push({ item: 'body', description: 'body: this operation takes no request body' });
  }
  return problems;
}
