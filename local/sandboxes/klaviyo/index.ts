/**
 * A local Klaviyo API (revision 2026-07-15) for `npm start`, the tests and the benchmark: an HTTP server on
 * loopback that checks the private key and the revision header, validates every request body with our own schemas
 * of Klaviyo's contract (`schemas.ts`; it refuses what Klaviyo refuses, in its JSON:API error format, and needs no
 * vendor document at run time), applies the per-endpoint burst/steady limits with 429 + `Retry-After`, de-duplicates
 * events on `unique_id` per profile and metric, keeps what it received for inspection, and injects 429/5xx/timeouts
 * on request. It never logs: bodies hold buyer data.
 *
 * Inspection over HTTP: `GET /__sandbox/state`; faults: `POST /__sandbox/faults` with a `KlaviyoFault`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../../../functions/shared/config';
import type { RateLimit } from '../../../functions/shared/connector/pacer';
import { KLAVIYO_OPERATIONS, KLAVIYO_REVISION } from '../../../functions/shared/klaviyo/requests';
import {
  type ReceivedRequest as VendorReceivedRequest,
  type Reply,
  type SandboxFault,
  type VendorRequest,
  startVendorServer,
} from '../vendorServer';
import { FixedWindowLimiter } from './limits';
import { MAX_BODY_BYTES, MAX_PROFILE_BYTES, bodyProblem, klaviyoBodySchemas } from './schemas';
import { KlaviyoStore, type StoredEvent, type StoredProfile } from './store';

export type { StoredEvent, StoredProfile } from './store';

export const DEFAULT_KLAVIYO_SANDBOX_PORT = 4020;
export const KLAVIYO_SANDBOX_KEY = 'pk_sandbox_marketbridge';

export type RouteName =
  | 'createEvent'
  | 'bulkCreateEvents'
  | 'upsertProfile'
  | 'bulkImportProfiles'
  | 'getBulkImportProfilesJob'
  | 'bulkSubscribeProfiles'
  | 'getProfiles'
  | 'requestProfileDeletion';

/**
 * A 429/5xx, or a request never answered (the client times out); with `afterEffect` the request is applied first:
 * the write happened but its acknowledgement is lost, the case idempotency keys exist for.
 */
export type KlaviyoFault = SandboxFault<RouteName>;

export type ReceivedRequest = VendorReceivedRequest<RouteName>;

export interface KlaviyoSandboxOptions {
  /** 0 picks a free port (the default); `npm start` uses DEFAULT_KLAVIYO_SANDBOX_PORT. */
  port?: number;
  apiKeys?: string[];
  /** Per-route overrides of the published limits (e.g. lower ones for a benchmark). */
  limits?: Partial<Record<RouteName, RateLimit>>;
  now?: () => number;
}

export interface KlaviyoSandbox {
  url: string;
  store: KlaviyoStore;
  requests: ReceivedRequest[];
  /** Requests each route admitted vs its limit, for measuring how close a client runs to the limit. */
  limitOf(route: RouteName): RateLimit | undefined;
  inject(fault: KlaviyoFault): void;
  /** Forgets data, requests, faults and rate-limit windows. */
  reset(): void;
  close(): Promise<void>;
}

interface Route {
  name: RouteName;
  method: string;
  path: RegExp;
}

const ROUTES: Route[] = [
  { name: 'createEvent', method: 'POST', path: /^\/api\/events\/?$/ },
  { name: 'bulkCreateEvents', method: 'POST', path: /^\/api\/event-bulk-create-jobs\/?$/ },
  { name: 'upsertProfile', method: 'POST', path: /^\/api\/profile-import\/?$/ },
  { name: 'bulkImportProfiles', method: 'POST', path: /^\/api\/profile-bulk-import-jobs\/?$/ },
  { name: 'getBulkImportProfilesJob', method: 'GET', path: /^\/api\/profile-bulk-import-jobs\/([^/]+)\/?$/ },
  { name: 'bulkSubscribeProfiles', method: 'POST', path: /^\/api\/profile-subscription-bulk-create-jobs\/?$/ },
  { name: 'getProfiles', method: 'GET', path: /^\/api\/profiles\/?$/ },
  { name: 'requestProfileDeletion', method: 'POST', path: /^\/api\/data-privacy-deletion-jobs\/?$/ },
];

const PUBLISHED: Record<RouteName, RateLimit> = {
  createEvent: KLAVIYO_OPERATIONS.createEvent.limit,
  bulkCreateEvents: KLAVIYO_OPERATIONS.bulkCreateEvents.limit,
  upsertProfile: KLAVIYO_OPERATIONS.upsertProfile.limit,
  bulkImportProfiles: KLAVIYO_OPERATIONS.bulkImportProfiles.limit,
  getBulkImportProfilesJob: KLAVIYO_OPERATIONS.bulkImportProfiles.limit,
  bulkSubscribeProfiles: { perSecond: 75, perMinute: 750 },
  getProfiles: { perSecond: 75, perMinute: 750 },
  requestProfileDeletion: { perSecond: 3, perMinute: 60 },
};

class KlaviyoError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly source?: { pointer?: string; parameter?: string },
  ) {
    super(detail);
  }
}

const invalid = (detail: string, pointer = '/data/') => new KlaviyoError(400, 'invalid', 'Invalid input.', detail, { pointer });

function errorReply(error: KlaviyoError, headers?: Record<string, string>): Reply {
  const body = {
    errors: [
      {
        id: randomUUID(),
        status: error.status,
        code: error.code,
        title: error.title,
        detail: error.detail,
        ...(error.source ? { source: error.source } : {}),
      },
    ],
  };
  return { status: error.status, body, headers };
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});

export async function startKlaviyoSandbox(options: KlaviyoSandboxOptions = {}): Promise<KlaviyoSandbox> {
  const now = options.now ?? Date.now;
  const apiKeys = new Set(options.apiKeys ?? [KLAVIYO_SANDBOX_KEY]);
  const limits = { ...PUBLISHED, ...options.limits };
  const limiter = new FixedWindowLimiter(limits, now);
  const store = new KlaviyoStore(() => new Date(now()));
  const schemas = klaviyoBodySchemas(now);

  /** A profile referenced by a Klaviyo id must exist; identifiers alone create it. */
  function knownProfile(resource: Json, pointer: string): void {
    if (typeof resource.id === 'string' && resource.id !== '' && !store.profiles.has(resource.id)) {
      throw new KlaviyoError(404, 'not_found', 'Not found.', 'No profile with this id.', { pointer });
    }
  }

  /** Applies a body its schema accepted, so every rule Klaviyo checks has already passed. */
  function apply(route: RouteName, body: Json, params: string[]): Reply {
    const data = obj(body.data);
    const attributes = obj(data.attributes);
    switch (route) {
      case 'createEvent': {
        const profile = obj(obj(attributes.profile).data);
        knownProfile(profile, '/data/attributes/profile/data/id');
        store.recordEvent(profile, attributes, 'single', false);
        return { status: 202 };
      }
      case 'bulkCreateEvents': {
        const entries = (obj(attributes['events-bulk-create']).data as Json[]).map(obj);
        entries.forEach((entry, i) =>
          knownProfile(obj(obj(obj(entry.attributes).profile).data), `/data/attributes/events-bulk-create/data/${i}/attributes/profile/data/id`),
        );
        for (const entry of entries) {
          const entryAttributes = obj(entry.attributes);
          const profile = obj(obj(entryAttributes.profile).data);
          const backfill = entryAttributes.backfill === true;
          for (const event of obj(entryAttributes.events).data as Json[]) {
            store.recordEvent(profile, obj(obj(event).attributes), 'bulk', backfill);
          }
        }
        return { status: 202 };
      }
      case 'upsertProfile': {
        knownProfile(data, '/data/id');
        const { profile, created } = store.upsertProfile(data);
        return { status: created ? 201 : 200, body: profileResponse(profile) };
      }
      case 'bulkImportProfiles': {
        const profiles = (obj(attributes.profiles).data as Json[]).map(obj);
        profiles.forEach((p, i) => knownProfile(p, `/data/attributes/profiles/data/${i}/id`));
        for (const p of profiles) store.upsertProfile(p);
        const job = store.createJob(profiles.length);
        return { status: 202, body: jobResponse(job.id, job.total, job.created, 'queued') };
      }
      case 'getBulkImportProfilesJob': {
        const job = store.jobs.get(params[0] ?? '');
        if (!job) throw new KlaviyoError(404, 'not_found', 'Not found.', 'Job not found.', { parameter: 'job_id' });
        // The sandbox imports synchronously, so a job is complete as soon as anyone looks.
        return { status: 200, body: jobResponse(job.id, job.total, job.created, 'complete') };
      }
      case 'bulkSubscribeProfiles':
        // Accepted as Klaviyo would; MarketBridge must never call it, and the tests check it never does.
        return { status: 202 };
      case 'getProfiles': {
        // The one filter form erasure uses; Klaviyo takes more, this sandbox says so rather than guess.
        const match = /^equals\((id|email|phone_number|external_id),"((?:[^"\\]|\\.)*)"\)$/.exec(params[0] ?? '');
        if (!match) throw new KlaviyoError(400, 'invalid', 'Invalid input.', 'Unsupported filter.', { parameter: 'filter' });
        const value = JSON.parse(`"${match[2] as string}"`) as string;
        return { status: 200, body: { data: store.profilesWith(match[1] as string, value).map((p) => profileResponse(p).data), links: { self: `${server.url}/api/profiles/`, next: null, prev: null } } };
      }
      case 'requestProfileDeletion': {
        const profile = obj(obj(attributes.profile).data);
        const identity = obj(profile.attributes);
        const [key, value] =
          typeof profile.id === 'string' ? ['id', profile.id] : typeof identity.email === 'string' ? ['email', identity.email] : ['phone_number', String(identity.phone_number)];
        // Every matching profile goes; none matching is still accepted, as Klaviyo queues the job regardless.
        for (const match of store.profilesWith(key, value)) store.deleteProfile(match);
        return { status: 202 };
      }
    }
  }

  function profileResponse(profile: StoredProfile) {
    const self = `${server.url}/api/profiles/${profile.id}/`;
    return {
      data: {
        type: 'profile',
        id: profile.id,
        attributes: { ...profile.attributes, created: profile.created, updated: profile.updated },
        links: { self },
      },
    };
  }

  function jobResponse(id: string, total: number, created: string, status: 'queued' | 'complete') {
    return {
      data: {
        type: 'profile-bulk-import-job',
        id,
        attributes: {
          status,
          created_at: created,
          total_count: total,
          completed_count: status === 'complete' ? total : 0,
          failed_count: 0,
          completed_at: status === 'complete' ? created : null,
          expires_at: null,
          started_at: created,
        },
        links: { self: `${server.url}/api/profile-bulk-import-jobs/${id}/` },
      },
    };
  }

  function authenticate(headers: VendorRequest['headers']): void {
    const header = headers.authorization ?? '';
    const match = /^Klaviyo-API-Key (\S+)$/.exec(header);
    if (!match || !apiKeys.has(match[1] as string)) {
      throw new KlaviyoError(401, 'not_authenticated', 'Authentication credentials were not provided.', 'Missing or invalid private key.', {
        pointer: '/data/',
      });
    }
    const revision = headers.revision;
    if (typeof revision !== 'string' || revision === '') {
      throw new KlaviyoError(400, 'invalid', 'Invalid input.', 'The revision header is required.', { parameter: 'revision' });
    }
    if (revision !== KLAVIYO_REVISION) {
      throw new KlaviyoError(400, 'invalid', 'Invalid input.', `This sandbox serves revision ${KLAVIYO_REVISION}.`, {
        parameter: 'revision',
      });
    }
  }

  /** Klaviyo's own refusals in its JSON:API error format; anything else is a sandbox bug, answered as Klaviyo's 500. */
  function answering<T>(answer: () => T): T | Reply {
    try {
      return answer();
    } catch (error) {
      return errorReply(
        error instanceof KlaviyoError ? error : new KlaviyoError(500, 'error', 'A server error occurred.', 'Unexpected sandbox error.'),
      );
    }
  }

  /** What Klaviyo checks before anything else happens to a request: the route, the key and revision, the limits. */
  function admit({ method, url, headers, route }: VendorRequest<RouteName>): Reply | undefined {
    if (!route) {
      throw new KlaviyoError(404, 'not_found', 'Not found.', `${method} ${url.pathname} is not served by this sandbox.`);
    }
    authenticate(headers);
    const admitted = limiter.admit(route);
    if (admitted.ok) return undefined;
    return errorReply(
      new KlaviyoError(429, 'throttled', 'Request was throttled.', `Request was throttled. Expected available in ${admitted.retryAfterSeconds} second.`),
      { 'retry-after': String(admitted.retryAfterSeconds) },
    );
  }

  function handle({ url, raw, route }: VendorRequest<RouteName>, fault: KlaviyoFault | undefined): Reply | 'hang' {
    // `admit` has refused every request without a route.
    const name = route as RouteName;
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = fault.status === 429 ? { 'retry-after': String(fault.retryAfterSeconds ?? 1) } : {};
      const error =
        fault.status === 429
          ? new KlaviyoError(429, 'throttled', 'Request was throttled.', 'Request was throttled.')
          : new KlaviyoError(fault.status, 'error', 'A server error occurred.', 'A server error occurred.');
      return errorReply(error, headers);
    }
    if (fault?.kind === 'timeout' && !fault.afterEffect) return 'hang';

    let body: Json = {};
    if (name !== 'getBulkImportProfilesJob' && name !== 'getProfiles') {
      const limit = name === 'upsertProfile' ? MAX_PROFILE_BYTES : MAX_BODY_BYTES;
      if (raw.length > limit) {
        const ceiling = limit === MAX_PROFILE_BYTES ? '100 KB' : '5 MB';
        throw new KlaviyoError(413, 'payload_too_large', 'Payload too large.', `The payload exceeds ${ceiling}.`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw invalid('The request body is not valid JSON.', '/');
      }
      const problem = bodyProblem(schemas[name], parsed);
      if (problem) throw invalid(problem.detail, problem.pointer);
      body = obj(parsed);
    }
    const params =
      name === 'getProfiles'
        ? [url.searchParams.get('filter') ?? '']
        : (ROUTES.find((r) => r.name === name)?.path.exec(url.pathname)?.slice(1) ?? []);
    const reply = apply(name, body, params);
    return fault?.kind === 'timeout' ? 'hang' : reply;
  }

  const server = await startVendorServer<RouteName>({
    port: options.port,
    maxBodyBytes: MAX_BODY_BYTES,
    now,
    contentType: 'application/vnd.api+json',
    routeOf: (method, path) => ROUTES.find((r) => r.method === method && r.path.test(path))?.name,
    admit: (request) => answering(() => admit(request)),
    handle: (request, fault) => answering(() => handle(request, fault)),
    state: () => ({ profiles: [...store.profiles.values()], events: store.events, duplicatesIgnored: store.duplicatesIgnored }),
  });

  return {
    url: server.url,
    store,
    requests: server.requests,
    limitOf: (route) => limiter.limitOf(route),
    inject: server.inject,
    reset() {
      store.clear();
      server.reset();
      limiter.reset();
    },
    close: server.close,
  };
}

/**
 * For the local runtime: when the configuration enables Klaviyo, starts the sandbox, stores a fresh API key under
 * the connector's secret name (as `{"apiKey": …}`, what the connector reads) and returns the configuration with
 * the connector pointed at the sandbox. Undefined when Klaviyo is not enabled.
 */
export async function attachKlaviyoSandbox(
  config: Config,
  secrets: { put(name: string, value: string): unknown },
  options: { port?: number } = {},
): Promise<{ config: Config; sandbox: KlaviyoSandbox } | undefined> {
  const klaviyo = config.connectors.klaviyo;
  if (!klaviyo?.enabled) return undefined;
  const secretName = klaviyo.secretName ?? 'marketbridge/klaviyo';
  const apiKey = `pk_local_${randomBytes(12).toString('hex')}`;
  const sandbox = await startKlaviyoSandbox({ port: options.port ?? DEFAULT_KLAVIYO_SANDBOX_PORT, apiKeys: [apiKey] });
  secrets.put(secretName, JSON.stringify({ apiKey }));
  return {
    sandbox,
    config: { ...config, connectors: { ...config.connectors, klaviyo: { ...klaviyo, secretName, baseUrl: sandbox.url } } },
  };
}
