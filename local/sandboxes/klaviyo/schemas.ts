/**
 * The request bodies the Klaviyo sandbox accepts, written from Klaviyo's published contract for revision 2026-07-15
 * (its API reference and OpenAPI document): JSON:API resource shapes, required members, types, enums, and the limits
 * Klaviyo states in prose (bulk counts, payload and string sizes, metric name length, event time window, profile
 * identifiers, duplicate `unique_id` in one bulk request). The sandbox ships with the product, so these schemas are
 * its only check; a contract test keeps them in agreement with the vendor document where that is available.
 *
 * Klaviyo refuses a member it does not know with a 400 naming the field, although its document's schemas do not say
 * so; resource objects and their attributes are therefore strict, and only free-form maps (`properties`, patch
 * operations) take any key.
 */
import * as z from 'zod';

const KB = 1024;
export const MAX_BODY_BYTES = 5 * KB * KB;
/** profile-import's own payload ceiling, and the per-profile ceiling inside a bulk import. */
export const MAX_PROFILE_BYTES = 100 * KB;
export const MAX_BULK_EVENTS = 1_000;
export const MAX_BULK_PROFILES = 10_000;
export const MAX_BULK_SUBSCRIPTIONS = 1_000;
const MAX_STRING_BYTES = 100 * KB;
const MAX_EVENT_PROPERTIES = 400;
/** Klaviyo's ingestion limits for event payloads, which the document links to rather than states. */
const MAX_ARRAY_ITEMS = 4_000;
const MAX_NESTING = 10;
/** Metric names must be shorter than 128 characters. */
const MAX_METRIC_NAME = 127;
const YEAR_MS = 365 * 24 * 3600 * 1000;

export type BodyRoute = 'createEvent' | 'bulkCreateEvents' | 'upsertProfile' | 'bulkImportProfiles' | 'bulkSubscribeProfiles' | 'requestProfileDeletion';

/** One reason to refuse a body, as a JSON:API error needs it. */
export interface BodyProblem {
  detail: string;
  pointer: string;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** Members the document marks optional and nullable: absent, null (clears the field on upsert) or a value. */
const nullish = <T extends z.ZodType>(schema: T) => schema.nullish();
const text = () => z.string().nullish();
const freeMap = z.record(z.string(), z.unknown());
const dateTime = z.iso.datetime({ offset: true });

/** Klaviyo stores e-mail and phone as identifiers and refuses values that cannot be one. */
const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'Invalid email address.');
const phone = z.string().regex(/^\+[1-9]\d{1,14}$/, 'Phone numbers must be in E.164 format.');

const location = z.strictObject({
  address1: text(),
  address2: text(),
  city: text(),
  country: text(),
  latitude: nullish(z.union([z.string(), z.number()])),
  longitude: nullish(z.union([z.string(), z.number()])),
  region: text(),
  zip: text(),
  timezone: text(),
  ip: text(),
});

const profileMeta = z.strictObject({
  patch_properties: nullish(
    z.strictObject({
      append: nullish(freeMap),
      unappend: nullish(freeMap),
      unset: nullish(z.union([z.string(), z.array(z.string())])),
    }),
  ),
  patch_identifiers: nullish(z.strictObject({ append: freeMap.optional(), unappend: freeMap.optional() })),
});

/** Profile attributes common to every operation MarketBridge uses. */
const profileFields = {
  email: nullish(email),
  phone_number: nullish(phone),
  external_id: text(),
  _kx: text(),
  first_name: text(),
  last_name: text(),
  organization: text(),
  locale: text(),
  title: text(),
  image: text(),
  location: nullish(location),
  properties: nullish(freeMap),
};

const IDENTIFIERS = ['external_id', 'email', 'phone_number', 'anonymous_id', '_kx'] as const;

/** Klaviyo needs at least one identifier to find or create the profile: the profile id or an identifier attribute. */
function requireIdentifier(resource: { id?: string | null; attributes: Record<string, unknown> }, ctx: z.RefinementCtx) {
  const has = (value: unknown) => typeof value === 'string' && value !== '';
  if (has(resource.id) || IDENTIFIERS.some((key) => has(resource.attributes[key]))) return;
  const message = 'A profile needs an identifier: its id, or an identifier attribute such as external_id or email.';
  ctx.addIssue({ code: 'custom', path: ['attributes'], message });
}

/** The profile of profile-import and of a bulk import: `meta` sits on the resource. */
const upsertProfile = z
  .strictObject({
    type: z.literal('profile'),
    id: text(),
    attributes: z.strictObject(profileFields),
    meta: nullish(profileMeta),
  })
  .superRefine(requireIdentifier);

/** The profile an event is recorded on: `anonymous_id` is allowed, and `meta` sits inside the attributes. */
const eventProfile = z
  .strictObject({
    type: z.literal('profile'),
    id: text(),
    attributes: z.strictObject({ ...profileFields, anonymous_id: text(), meta: nullish(profileMeta) }),
  })
  .superRefine(requireIdentifier);

/** The profile of one bulk event entry: `anonymous_id` is allowed, and `meta` sits on the resource. */
const bulkEventProfile = z
  .strictObject({
    type: z.literal('profile'),
    id: text(),
    attributes: z.strictObject({ ...profileFields, anonymous_id: text() }),
    meta: nullish(profileMeta),
  })
  .superRefine(requireIdentifier);

const metric = z.strictObject({
  data: z.strictObject({
    type: z.literal('metric'),
    attributes: z.strictObject({ name: z.string().min(1).max(MAX_METRIC_NAME), service: text() }),
  }),
});

/** Walks a free-form value for the ingestion limits on arrays and nesting. */
function checkNested(value: unknown, path: PropertyKey[], depth: number, ctx: z.RefinementCtx): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_NESTING) {
    ctx.addIssue({ code: 'custom', path, message: `Event properties may nest at most ${MAX_NESTING} levels.` });
    return;
  }
  if (Array.isArray(value) && value.length > MAX_ARRAY_ITEMS) {
    ctx.addIssue({ code: 'custom', path, message: `Arrays in event properties may hold at most ${MAX_ARRAY_ITEMS} items.` });
    return;
  }
  for (const [key, child] of Object.entries(value)) checkNested(child, [...path, key], depth + 1, ctx);
}

const eventProperties = freeMap.superRefine((properties, ctx) => {
  if (Object.keys(properties).length > MAX_EVENT_PROPERTIES) {
    ctx.addIssue({ code: 'custom', message: `Events may have at most ${MAX_EVENT_PROPERTIES} properties.` });
  }
  for (const [key, value] of Object.entries(properties)) checkNested(value, [key], 1, ctx);
});

function eventFields(now: () => number) {
  const time = dateTime.refine(
    (value) => {
      const at = Date.parse(value);
      return at >= Date.UTC(1990, 0, 1) && at <= now() + YEAR_MS;
    },
    { message: 'Event time must be after 1990 and at most one year in the future.' },
  );
  return {
    properties: eventProperties,
    time: nullish(time),
    value: nullish(z.number()),
    value_currency: nullish(z.string().regex(/^[A-Z]{3}$/, 'value_currency must be an ISO 4217 code.')),
    unique_id: text(),
    backfill: nullish(z.boolean()),
    metric,
  };
}

/** Walks the whole body for strings over Klaviyo's per-string ceiling. */
function checkStrings(value: unknown, path: PropertyKey[], ctx: z.RefinementCtx): void {
  if (typeof value === 'string') {
    if (Buffer.byteLength(value, 'utf8') > MAX_STRING_BYTES) {
      ctx.addIssue({ code: 'custom', path, message: `A single string may not exceed ${MAX_STRING_BYTES / KB} KB.` });
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) checkStrings(child, [...path, key], ctx);
  }
}

const withStringLimit = <T extends z.ZodType>(schema: T) => schema.superRefine((body, ctx) => checkStrings(body, [], ctx));

type BulkEntry = {
  attributes: {
    profile: { data: { id?: string | null; attributes: Record<string, unknown> } };
    events: { data: { attributes: { metric: { data: { attributes: { name: string } } }; unique_id?: string | null } }[] };
  };
};

/** Bulk event rules: at most 1,000 events, and a repeated unique_id for one profile and metric fails the request. */
function checkBulkEvents(entries: BulkEntry[], ctx: z.RefinementCtx): void {
  const total = entries.reduce((n, entry) => n + entry.attributes.events.data.length, 0);
  if (total > MAX_BULK_EVENTS) {
    ctx.addIssue({ code: 'custom', path: ['data'], message: `At most ${MAX_BULK_EVENTS} events per request (got ${total}).` });
    return;
  }
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const profile = entry.attributes.profile.data;
    const who = profile.id ?? IDENTIFIERS.map((key) => profile.attributes[key]).find((v) => typeof v === 'string' && v !== '');
    entry.attributes.events.data.forEach((event, j) => {
      const uniqueId = event.attributes.unique_id;
      if (uniqueId === undefined || uniqueId === null) return;
      const key = JSON.stringify([who, event.attributes.metric.data.attributes.name, uniqueId]);
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['data', i, 'attributes', 'events', 'data', j, 'attributes', 'unique_id'],
          message: 'Duplicate unique_id for the same profile and metric in one request.',
        });
      }
      seen.add(key);
    });
  });
}

const listRef = z.strictObject({ type: z.literal('list'), id: z.string() });

const subscription = z.strictObject({ consent: z.literal('SUBSCRIBED'), consented_at: nullish(dateTime) });

const pushToken = z.strictObject({
  token: z.string(),
  platform: z.enum(['android', 'ios']),
  vendor: z.enum(['apns', 'fcm']),
  enablement_status: nullish(z.enum(['AUTHORIZED', 'DENIED', 'NOT_DETERMINED', 'PROVISIONAL', 'UNAUTHORIZED'])),
  background: nullish(z.enum(['AVAILABLE', 'DENIED', 'RESTRICTED'])),
  device_metadata: nullish(
    z.strictObject({
      device_id: text(),
      klaviyo_sdk: nullish(z.enum(['android', 'flutter', 'flutter_community', 'react_native', 'swift'])),
      sdk_version: text(),
      device_model: text(),
      os_name: nullish(z.enum(['android', 'ios', 'ipados', 'macos', 'tvos'])),
      os_version: text(),
      manufacturer: text(),
      app_name: text(),
      app_version: text(),
      app_build: text(),
      app_id: text(),
      environment: nullish(z.enum(['debug', 'release'])),
    }),
  ),
});

const subscriptionProfile = z.strictObject({
  type: z.literal('profile'),
  id: text(),
  attributes: z.strictObject({
    email: nullish(email),
    phone_number: nullish(phone),
    subscriptions: z.strictObject({
      email: nullish(
        z.strictObject({
          marketing: nullish(subscription),
          open_tracking: nullish(z.strictObject({ consent: z.literal('SUBSCRIBED') })),
        }),
      ),
      sms: nullish(z.strictObject({ marketing: nullish(subscription), transactional: nullish(subscription) })),
      whatsapp: nullish(z.strictObject({ marketing: nullish(subscription), transactional: nullish(subscription) })),
      push: nullish(z.strictObject({ marketing: subscription, tokens: nullish(z.array(pushToken)), anonymous_id: text() })),
    }),
    age_gated_date_of_birth: nullish(z.iso.date()),
  }),
});

/** With `historical_import`, every consent needs a `consented_at` in the past. */
function checkHistoricalImport(
  attributes: { historical_import?: boolean | null; profiles: { data: z.infer<typeof subscriptionProfile>[] } },
  now: () => number,
  ctx: z.RefinementCtx,
): void {
  if (attributes.historical_import !== true) return;
  attributes.profiles.data.forEach((profile, i) => {
    for (const [channel, kinds] of Object.entries(profile.attributes.subscriptions)) {
      for (const [kind, consent] of Object.entries(kinds ?? {})) {
        if (!consent || typeof consent !== 'object' || !('consent' in consent) || kind === 'open_tracking') continue;
        const at = 'consented_at' in consent && typeof consent.consented_at === 'string' ? Date.parse(consent.consented_at) : NaN;
        if (!(at < now())) {
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', 'data', i, 'attributes', 'subscriptions', channel, kind, 'consented_at'],
            message: 'With historical_import, consented_at is required and must be in the past.',
          });
        }
      }
    }
  });
}

/** One schema per route that takes a body; `now` is the sandbox clock, for the event time window. */
export function klaviyoBodySchemas(now: () => number): Record<BodyRoute, z.ZodType> {
  const event = eventFields(now);
  return {
    createEvent: withStringLimit(
      z.strictObject({
        data: z.strictObject({
          type: z.literal('event'),
          attributes: z.strictObject({ ...event, profile: z.strictObject({ data: eventProfile }) }),
        }),
      }),
    ),
    bulkCreateEvents: withStringLimit(
      z.strictObject({
        data: z.strictObject({
          type: z.literal('event-bulk-create-job'),
          attributes: z.strictObject({
            'events-bulk-create': z
              .strictObject({
                data: z.array(
                  z.strictObject({
                    type: z.literal('event-bulk-create'),
                    attributes: z.strictObject({
                      backfill: nullish(z.boolean()),
                      profile: z.strictObject({ data: bulkEventProfile }),
                      events: z.strictObject({
                        data: z.array(z.strictObject({ type: z.literal('event'), attributes: z.strictObject(event) })),
                      }),
                    }),
                  }),
                ),
              })
              .superRefine((job, ctx) => checkBulkEvents(job.data, ctx)),
          }),
        }),
      }),
    ),
    upsertProfile: z.strictObject({ data: upsertProfile }),
    bulkImportProfiles: z.strictObject({
      data: z.strictObject({
        type: z.literal('profile-bulk-import-job'),
        attributes: z.strictObject({
          profiles: z.strictObject({
            data: z
              .array(upsertProfile.refine((p) => bytes(p) <= MAX_PROFILE_BYTES, `A profile may not exceed ${MAX_PROFILE_BYTES / KB} KB.`))
              .max(MAX_BULK_PROFILES, `At most ${MAX_BULK_PROFILES} profiles per request.`),
          }),
        }),
        relationships: z.strictObject({ lists: z.strictObject({ data: z.array(listRef).optional() }).optional() }).optional(),
      }),
    }),
    bulkSubscribeProfiles: z.strictObject({
      data: z.strictObject({
        type: z.literal('profile-subscription-bulk-create-job'),
        attributes: z
          .strictObject({
            custom_source: text(),
            profiles: z.strictObject({
              data: z.array(subscriptionProfile).max(MAX_BULK_SUBSCRIPTIONS, `At most ${MAX_BULK_SUBSCRIPTIONS} profiles per request.`),
            }),
            historical_import: nullish(z.boolean()),
          })
          .superRefine((attributes, ctx) => checkHistoricalImport(attributes, now, ctx)),
        relationships: z.strictObject({ list: z.strictObject({ data: listRef }).optional() }).optional(),
      }),
    }),
    // "one of the following identifiers: email, phone_number, or id. If multiple identifiers are provided, we will
    // return an error" (request_profile_deletion).
    requestProfileDeletion: z.strictObject({
      data: z.strictObject({
        type: z.literal('data-privacy-deletion-job'),
        attributes: z.strictObject({
          profile: z.strictObject({
            data: z
              .strictObject({
                type: z.literal('profile'),
                id: text(),
                attributes: z.strictObject({ email: nullish(email), phone_number: nullish(phone) }),
              })
              .refine((p) => [p.id, p.attributes.email, p.attributes.phone_number].filter((v) => v != null).length === 1, {
                message: 'Exactly one of id, email or phone_number identifies the profile to delete.',
              }),
          }),
        }),
      }),
    }),
  };
}

const escape = (part: PropertyKey) => String(part).replace(/~/g, '~0').replace(/\//g, '~1');

/** The first reason Klaviyo would refuse `body`, with a JSON pointer to the offending member; undefined if valid. */
export function bodyProblem(schema: z.ZodType, body: unknown): BodyProblem | undefined {
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return undefined;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const pointer = `/${path.map(escape).join('/')}`;
  const name = String(path[path.length - 1] ?? 'body');
  const detail =
    issue.code === 'unrecognized_keys'
      ? `'${name}' is not a valid field here.`
      : issue.code === 'invalid_type' && issue.input === undefined
        ? `'${name}' is required.`
        : issue.code === 'custom'
          ? issue.message
          : `'${name}': ${issue.message}`;
  return { detail, pointer };
}
