/**
 * What the Dotdigital sandbox holds, with Dotdigital's semantics: contacts found by any identifier (contactId,
 * email, mobileNumber or a custom identifier), new e-mail contacts `subscribed` at account level unless the
 * address is suppressed, list memberships, data fields, contact-scoped insight collections whose first records fix
 * the schema, async imports, programme enrolments (and the calls refused over the hourly cap), and every write
 * touching consent kept apart so tests can prove there never is one.
 */
export interface StoredContact {
  contactId: number;
  identifiers: Record<string, string>;
  dataFields: Record<string, unknown>;
  lists: Set<number>;
  /** Undefined for a contact without an e-mail address. */
  emailStatus: string | undefined;
  created: string;
  updated: string;
}

export interface StoredRecord {
  key: string;
  json: Record<string, unknown>;
  created: string;
  updated: string;
}

export interface SandboxList {
  id: number;
  name: string;
  /** Marketing lists are what campaigns go to; buyers must never land in one. */
  marketing: boolean;
}

export type InsightFailure = 'JsonContainsNestedArray' | 'JsonValueIncompatibleWithSchema' | 'ContactIdDoesNotExist' | 'InvalidContactIdentifier';

const DEFAULT_DATA_FIELDS: [string, string][] = [
  ['FIRSTNAME', 'String'],
  ['LASTNAME', 'String'],
  ['FULLNAME', 'String'],
  ['GENDER', 'String'],
  ['POSTCODE', 'String'],
];

const typeOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

export function hasNestedArray(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => Array.isArray(v) || hasNestedArray(v));
  if (value && typeof value === 'object') return Object.values(value).some(hasNestedArray);
  return false;
}

/** Leaf paths and their JSON types (array items share one path), the shape a collection's schema fixes. */
function shape(value: unknown, path = '', into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    into.set(path, 'array');
    for (const item of value) shape(item, `${path}[]`, into);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) shape(v, path ? `${path}.${key}` : key, into);
  } else if (value !== null) {
    into.set(path, typeOf(value));
  }
  return into;
}

export class DotdigitalStore {
  readonly contacts = new Map<number, StoredContact>();
  readonly customIdentifiers = new Set<string>();
  readonly dataFields = new Map<string, string>(DEFAULT_DATA_FIELDS);
  readonly collections = new Map<string, { type: string; schema: Map<string, string> }>();
  /** `${contactId}|${collection}|${key}` → record. */
  readonly records = new Map<string, StoredRecord>();
  readonly enrolments: { programId: number; contacts: number[] }[] = [];
  /** Enrolment calls refused over the hourly cap. */
  enrolmentsRefused = 0;
  /** Requests that carried `channelProperties`, `consentRecords` or `preferences`, or called a suppression endpoint. */
  consentWrites = 0;
  private nextId = 1000;

  constructor(
    readonly lists: SandboxList[],
    readonly suppressedEmails: Set<string>,
    private readonly now: () => Date,
  ) {}

  find(identifier: string, value: string): StoredContact | undefined {
    if (identifier === 'contactId') return this.contacts.get(Number(value));
    const wanted = identifier === 'email' ? value.toLowerCase() : value;
    return [...this.contacts.values()].find((c) => {
      const own = c.identifiers[identifier];
      return own !== undefined && (identifier === 'email' ? own.toLowerCase() : own) === wanted;
    });
  }

  /** Create-or-update as v3 PATCH does: only the fields passed change; lists are added to, never removed. */
  upsert(identifier: string, value: string, body: { identifiers?: Record<string, string>; dataFields?: Record<string, unknown>; lists?: number[] }) {
    const at = this.now().toISOString();
    const existing = this.find(identifier, value);
    const identifiers = { ...(identifier === 'contactId' ? {} : { [identifier]: value }), ...body.identifiers };
    const contact: StoredContact = existing ?? {
      contactId: this.nextId++,
      identifiers: {},
      dataFields: {},
      lists: new Set(),
      emailStatus: undefined,
      created: at,
      updated: at,
    };
    Object.assign(contact.identifiers, identifiers);
    Object.assign(contact.dataFields, body.dataFields);
    for (const list of body.lists ?? []) contact.lists.add(list);
    const email = contact.identifiers.email;
    // New contacts are `subscribed` at account level by default (marketing eligibility is list membership).
    if (email && contact.emailStatus === undefined) {
      contact.emailStatus = this.suppressedEmails.has(email.toLowerCase()) ? 'suppressed' : 'subscribed';
    }
    contact.updated = at;
    this.contacts.set(contact.contactId, contact);
    return { contact, created: !existing };
  }

  /** The insight rules Dotdigital enforces on a record, or undefined when it is acceptable. */
  checkRecord(collection: string, json: unknown): InsightFailure | undefined {
    if (hasNestedArray(json)) return 'JsonContainsNestedArray';
    const schema = this.collections.get(collection)?.schema;
    if (!schema) return undefined;
    for (const [path, type] of shape(json)) {
      const fixed = schema.get(path);
      if (fixed !== undefined && fixed !== type) return 'JsonValueIncompatibleWithSchema';
    }
    return undefined;
  }

  /** Upserts a record by key; the collection is created (type `orders`) when missing, as the import does. */
  putRecord(contact: StoredContact, collection: string, key: string, json: Record<string, unknown>): { created: boolean } {
    const at = this.now().toISOString();
    const entry = this.collections.get(collection) ?? { type: 'orders', schema: new Map<string, string>() };
    this.collections.set(collection, entry);
    for (const [path, type] of shape(json)) if (!entry.schema.has(path)) entry.schema.set(path, type);
    const id = `${contact.contactId}|${collection}|${key}`;
    const existing = this.records.get(id);
    this.records.set(id, { key, json, created: existing?.created ?? at, updated: at });
    return { created: !existing };
  }

  getRecord(contact: StoredContact, collection: string, key: string): StoredRecord | undefined {
    return this.records.get(`${contact.contactId}|${collection}|${key}`);
  }

  /** Records of one collection, for inspection. */
  recordsIn(collection: string): StoredRecord[] {
    return [...this.records].filter(([id]) => id.split('|')[1] === collection).map(([, r]) => r);
  }

  /** A deleted contact takes its contact-scoped insight records with it. */
  remove(contact: StoredContact): void {
    this.contacts.delete(contact.contactId);
    for (const id of [...this.records.keys()]) if (id.startsWith(`${contact.contactId}|`)) this.records.delete(id);
  }

  clear(): void {
    this.contacts.clear();
    this.customIdentifiers.clear();
    this.dataFields.clear();
    for (const [name, type] of DEFAULT_DATA_FIELDS) this.dataFields.set(name, type);
    this.collections.clear();
    this.records.clear();
    this.enrolments.length = 0;
    this.enrolmentsRefused = 0;
    this.consentWrites = 0;
  }
}
