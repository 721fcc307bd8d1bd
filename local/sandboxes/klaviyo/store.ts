/**
 * What the Klaviyo sandbox holds, with Klaviyo's semantics: profiles upserted by identifier (external_id, then
 * email), events de-duplicated on `unique_id` per profile and metric (the first processed wins), bulk profile
 * import jobs, and every subscription attempt kept separately so tests can prove there never is one.
 */
import { randomUUID } from 'node:crypto';

export interface StoredProfile {
  id: string;
  attributes: Record<string, unknown>;
  created: string;
  updated: string;
}

export interface StoredEvent {
  id: string;
  profileId: string;
  metric: string;
  uniqueId: string | undefined;
  time: string;
  value: number | undefined;
  valueCurrency: string | undefined;
  backfill: boolean;
  properties: Record<string, unknown>;
  /** `single` for POST /api/events, `bulk` for event bulk create jobs. */
  via: 'single' | 'bulk';
}

export interface StoredJob {
  id: string;
  total: number;
  created: string;
}

type Attributes = Record<string, unknown>;
/** A JSON:API profile resource as the request carried it: the Klaviyo id (optional) and the attributes. */
type ProfileResource = { id?: unknown; attributes?: unknown };

const IDENTIFIERS = ['external_id', 'email', 'phone_number', 'anonymous_id', '_kx'] as const;

/** Klaviyo second-precision ids look like `01GDDKASAP8TKDDA2GRZDSVP4H`; a uuid is as good for a sandbox. */
const newId = () => randomUUID().replace(/-/g, '').slice(0, 26).toUpperCase();

export class KlaviyoStore {
  readonly profiles = new Map<string, StoredProfile>();
  readonly events: StoredEvent[] = [];
  readonly jobs = new Map<string, StoredJob>();
  /** Events ignored because their unique_id was already recorded for the profile and metric. */
  duplicatesIgnored = 0;
  /** Profiles removed by data-privacy deletion jobs. */
  deletions = 0;
  private readonly eventKeys = new Set<string>();
  /** `external_id:…` / `email:…` → profile id, as Klaviyo resolves identifiers. */
  private readonly byIdentifier = new Map<string, string>();

  constructor(private readonly now: () => Date) {}

  private find(id: unknown, attributes: Attributes): StoredProfile | undefined {
    if (typeof id === 'string' && this.profiles.has(id)) return this.profiles.get(id);
    for (const key of IDENTIFIERS) {
      const value = attributes[key];
      if (typeof value !== 'string' || value === '') continue;
      const id = this.byIdentifier.get(`${key}:${value}`);
      if (id) return this.profiles.get(id);
    }
    return undefined;
  }

  private index(profile: StoredProfile): void {
    for (const key of IDENTIFIERS) {
      const value = profile.attributes[key];
      if (typeof value === 'string' && value !== '') this.byIdentifier.set(`${key}:${value}`, profile.id);
    }
  }

  /** Create-or-update, by id then identifiers: a null clears a field, an omitted one is left as it was; properties merge. */
  upsertProfile(resource: ProfileResource): { profile: StoredProfile; created: boolean } {
    const attributes = (resource.attributes ?? {}) as Attributes;
    const at = this.now().toISOString();
    const existing = this.find(resource.id, attributes);
    if (!existing) {
      const profile: StoredProfile = { id: newId(), attributes: { ...attributes }, created: at, updated: at };
      this.profiles.set(profile.id, profile);
      this.index(profile);
      return { profile, created: true };
    }
    const { properties, ...rest } = attributes;
    Object.assign(existing.attributes, rest);
    if (properties && typeof properties === 'object') {
      existing.attributes.properties = { ...(existing.attributes.properties as Attributes), ...(properties as Attributes) };
    }
    existing.updated = at;
    this.index(existing);
    return { profile: existing, created: false };
  }

  /** Records an event unless its unique_id was seen for this profile and metric; returns whether it was kept. */
  recordEvent(profileResource: ProfileResource, event: Attributes, via: StoredEvent['via'], backfillDefault: boolean) {
    const { profile } = this.upsertProfile(profileResource);
    const metric = String(((event.metric as Attributes).data as { attributes: { name: string } }).attributes.name);
    const uniqueId = typeof event.unique_id === 'string' ? event.unique_id : undefined;
    // Without a unique_id Klaviyo dedups on the time to the second.
    const time = typeof event.time === 'string' ? event.time : this.now().toISOString();
    const key = JSON.stringify([profile.id, metric, uniqueId ?? time.slice(0, 19)]);
    if (this.eventKeys.has(key)) {
      this.duplicatesIgnored += 1;
      return false;
    }
    this.eventKeys.add(key);
    this.events.push({
      id: newId(),
      profileId: profile.id,
      metric,
      uniqueId,
      time,
      value: typeof event.value === 'number' ? event.value : undefined,
      valueCurrency: typeof event.value_currency === 'string' ? event.value_currency : undefined,
      backfill: typeof event.backfill === 'boolean' ? event.backfill : backfillDefault,
      properties: (event.properties as Attributes) ?? {},
      via,
    });
    return true;
  }

  /** Profiles whose identifier `key` (id, email, phone_number, external_id) equals `value`. */
  profilesWith(key: string, value: string): StoredProfile[] {
    if (key === 'id') return this.profiles.has(value) ? [this.profiles.get(value) as StoredProfile] : [];
    const id = this.byIdentifier.get(`${key}:${value}`);
    return id ? [this.profiles.get(id) as StoredProfile] : [];
  }

  /** A data-privacy deletion: the profile, its identifiers and its events are gone. */
  deleteProfile(profile: StoredProfile): void {
    this.profiles.delete(profile.id);
    for (const [key, id] of [...this.byIdentifier]) if (id === profile.id) this.byIdentifier.delete(key);
    for (let i = this.events.length - 1; i >= 0; i -= 1) if (this.events[i]?.profileId === profile.id) this.events.splice(i, 1);
    this.deletions += 1;
  }

  createJob(total: number): StoredJob {
    const job = { id: newId(), total, created: this.now().toISOString() };
    this.jobs.set(job.id, job);
    return job;
  }

  clear(): void {
    this.profiles.clear();
    this.events.length = 0;
    this.jobs.clear();
    this.eventKeys.clear();
    this.byIdentifier.clear();
    this.duplicatesIgnored = 0;
    this.deletions = 0;
  }
}
