/**
 * A local Salesforce Marketing Cloud (Engagement) for `npm start`, the tests and the benchmark. Salesforce
 * publishes no current OpenAPI for these endpoints, so the sandbox is strict about what the reference documents:
 *
 * - `POST /v2/token` (client credentials, JSON body): 20-minute tokens (`expires_in` 1079), `rest_instance_url` on
 *   this server, `invalid_client` for bad credentials; token requests are counted. SFMC allows about one token per
 *   20 minutes per client machine and throttles token-per-call patterns: a client asking while each of its
 *   machines (`clientMachines`, the caller's execution environments) already holds a live token is refused.
 * - REST calls need a live bearer token: an expired or unknown one is 401 `Not Authorized` (errorcode 0).
 * - Synchronous rowset upsert (`/hub/v1/dataevents/key:{key}/rowset`): an array of `{keys, values}`, at most 50
 *   rows, every primary key in `keys`, only existing columns, values of the column's type.
 * - Asynchronous upsert (`PUT /data/v1/async/dataextensions/key:{key}/rows`): `{items}` of flat rows, at most
 *   32,000, 202 with a `requestId`; `…/{requestId}/status` says Pending first, then Complete with `hasErrors`;
 *   `…/results` lists row errors.
 * - Journey entry (`/interaction/v1/events`, batched `/interaction/v1/async/events` ≤ 100 members): a known
 *   EventDefinitionKey (no period), a ContactKey, the event's required Data fields.
 * - REST calls over the configured rate (a fixed one-minute window; SFMC publishes no rate, the default is the
 *   modelled figure the connector paces under, SFMC_MODELLED_REQUESTS_PER_MINUTE) are 429 as SFMC documents them:
 *   errorcode 50100, `Retry-After` and `retryAfter` in seconds; 5 MB payload cap (413).
 */
import { randomUUID } from 'node:crypto';
import { type Config, SFMC_MODELLED_REQUESTS_PER_MINUTE } from '../../../functions/shared/config';
import { type Reply, type SandboxFault, type VendorRequest, startVendorServer, type ReceivedRequest } from '../vendorServer';
import { FixedWindowLimiter } from '../klaviyo/limits';

export type { ReceivedRequest, SandboxFault } from '../vendorServer';

export const DEFAULT_SFMC_SANDBOX_PORT = 4040;
export const SFMC_SANDBOX_CLIENT = { clientId: 'sandbox-client-id', clientSecret: 'sandbox-client-secret' };
export const SFMC_SANDBOX_MID = 510000001;
export const TOKEN_EXPIRES_IN = 1079;
/** How long before expiry a client may renew its token without counting as asking twice (our model, not documented). */
const TOKEN_RENEWAL_WINDOW_MS = 5 * 60_000;
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const SYNC_MAX_ROWS = 50;
const ASYNC_MAX_ROWS = 32_000;
const JOURNEY_BATCH_MAX = 100;

export type ColumnType = 'Text' | 'Number' | 'Decimal' | 'Boolean' | 'Date' | 'EmailAddress';
export interface DataExtensionDefinition {
  primaryKey: string[];
  columns: Record<string, ColumnType>;
}

const text = (...names: string[]) => Object.fromEntries(names.map((n) => [n, 'Text' as const]));
/** The data extensions MarketBridge writes (create them with these columns at onboarding). */
export const SFMC_SANDBOX_DATA_EXTENSIONS: Record<string, DataExtensionDefinition> = {
  MarketBridge_Customers: {
    primaryKey: ['ContactKey'],
    columns: {
      ...text('ContactKey', 'Marketplace', 'MarketplaceName', 'CustomerId', 'FirstName', 'LastName', 'Locale', 'ShippingCountry'),
      RelayEmailAddress: 'EmailAddress',
      MarketingAllowed: 'Boolean',
    },
  },
  MarketBridge_Orders: {
    primaryKey: ['OrderKey'],
    columns: {
      ...text('OrderKey', 'ContactKey', 'OrderId', 'CommercialId', 'Marketplace', 'Channel', 'Status', 'Currency'),
      OrderDate: 'Date',
      UpdatedAt: 'Date',
      Subtotal: 'Decimal',
      ShippingTotal: 'Decimal',
      OrderTotal: 'Decimal',
      HasIncident: 'Boolean',
      HasRefund: 'Boolean',
      HasCancellation: 'Boolean',
    },
  },
  MarketBridge_OrderLines: {
    primaryKey: ['LineKey'],
    columns: {
      ...text('LineKey', 'OrderKey', 'ContactKey', 'LineId', 'Kind', 'Status', 'SKU', 'ProductName', 'Category', 'Brand', 'Reason'),
      Quantity: 'Number',
      UnitPrice: 'Decimal',
      Amount: 'Decimal',
      ShippingAmount: 'Decimal',
    },
  },
};

/** API-event entry sources and the Data fields each requires. */
export const SFMC_SANDBOX_EVENT_DEFINITIONS: Record<string, string[]> = {
  'APIEvent-marketbridge-order-confirmed': ['OrderKey', 'OrderId'],
  'APIEvent-marketbridge-order-shipped': ['OrderKey', 'OrderId'],
};

export interface SfmcSandboxOptions {
  port?: number;
  dataExtensions?: Record<string, DataExtensionDefinition>;
  eventDefinitions?: Record<string, string[]>;
  /** REST requests admitted per minute (token requests apart) before 429 errorcode 50100. */
  requestsPerMinute?: number;
  /**
   * Client machines sharing the package's credentials (a Lambda execution environment is one: its own process and
   * token cache). Each may hold one live token; a request beyond that is the token-per-call pattern. Default 1.
   */
  clientMachines?: number;
  /** Status polls an async request answers Pending to. */
  asyncPolls?: number;
  now?: () => number;
}

export interface JourneyEntryRecord {
  eventInstanceId: string;
  eventDefinitionKey: string;
  contactKey: string;
  data: Record<string, unknown>;
}

export interface SfmcSandbox {
  url: string;
  /** Rows per data extension key, by primary-key value (joined with `|`). */
  rows: Map<string, Map<string, Record<string, unknown>>>;
  journeyEntries: JourneyEntryRecord[];
  /** Contact keys deleted (delete by key); their rows are gone as after the suppression period. */
  deletedContacts: string[];
  tokenRequests: number;
  /** The REST rate the sandbox enforces. */
  requestsPerMinute: number;
  requests: ReceivedRequest[];
  /** Makes every token issued so far expire now (as after 20 minutes). */
  expireTokens(): void;
  inject(fault: SandboxFault | { kind: 'blocked'; times: number; route?: string }): void;
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});

const sfmcError = (status: number, errorcode: number, message: string, headers?: Record<string, string>): Reply => ({
  status,
  headers,
  body: { message, errorcode, documentation: 'https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm' },
});

/** SFMC's documented rate-limit answer (errorcode 50100), waiting time in the header and the body alike. */
const rateLimited = (retryAfterSeconds: number, message = 'Rate limit exceeded'): Reply => {
  const reply = sfmcError(429, 50100, message, { 'retry-after': String(retryAfterSeconds) });
  return { ...reply, body: { ...(reply.body as object), retryAfter: retryAfterSeconds } };
};

class RowError extends Error {}

function checkValue(column: string, type: ColumnType, value: unknown): void {
  const ok =
    type === 'Text'
      ? typeof value === 'string' && value.length <= 4000
      : type === 'Number'
        ? Number.isInteger(value)
        : type === 'Decimal'
          ? typeof value === 'number' && Number.isFinite(value)
          : type === 'Boolean'
            ? typeof value === 'boolean' || value === 'true' || value === 'false'
            : type === 'Date'
              ? typeof value === 'string' && !Number.isNaN(Date.parse(value))
              : typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value);
  if (!ok) throw new RowError(`Error converting value for column '${column}' to ${type}`);
}

interface Route {
  name: string;
  method: string;
  path: RegExp;
}
const ROUTES: Route[] = [
  { name: 'token', method: 'POST', path: /^\/v2\/token$/ },
  { name: 'rowset', method: 'POST', path: /^\/hub\/v1\/dataevents\/key:([^/]+)\/rowset$/ },
  { name: 'asyncUpsert', method: 'PUT', path: /^\/data\/v1\/async\/dataextensions\/key:([^/]+)\/rows$/ },
  { name: 'asyncStatus', method: 'GET', path: /^\/data\/v1\/async\/([^/]+)\/status$/ },
  { name: 'asyncResults', method: 'GET', path: /^\/data\/v1\/async\/([^/]+)\/results$/ },
  { name: 'journeyEvent', method: 'POST', path: /^\/interaction\/v1\/events$/ },
  { name: 'journeyBatch', method: 'POST', path: /^\/interaction\/v1\/async\/events$/ },
  { name: 'contactDelete', method: 'POST', path: /^\/contacts\/v1\/contacts\/actions\/delete$/ },
];

export async function startSfmcSandbox(options: SfmcSandboxOptions = {}): Promise<SfmcSandbox> {
  const now = options.now ?? Date.now;
  const definitions = options.dataExtensions ?? SFMC_SANDBOX_DATA_EXTENSIONS;
  const events = options.eventDefinitions ?? SFMC_SANDBOX_EVENT_DEFINITIONS;
  const rows = new Map<string, Map<string, Record<string, unknown>>>();
  const journeyEntries: JourneyEntryRecord[] = [];
  const deletedContacts: string[] = [];
  const tokens = new Map<string, number>();
  const asyncJobs = new Map<string, { pollsLeft: number; errors: Json[]; at: string }>();
  const requestsPerMinute = options.requestsPerMinute ?? SFMC_MODELLED_REQUESTS_PER_MINUTE;
  // One account-wide REST budget, counted per minute only.
  const limiter = new FixedWindowLimiter({ rest: { perSecond: requestsPerMinute, perMinute: requestsPerMinute } }, now);
  let tokenRequests = 0;
  let blocked: { remaining: number; route?: string }[] = [];

  /** Validates one row against its data extension; returns the stored row's primary-key id. */
  function upsertRow(key: string, values: Json): void {
    const definition = definitions[key] as DataExtensionDefinition;
    for (const pk of definition.primaryKey) {
      if (values[pk] === undefined || values[pk] === '') throw new RowError(`Primary key '${pk}' is missing`);
    }
    for (const [column, value] of Object.entries(values)) {
      const type = definition.columns[column];
      if (!type) throw new RowError(`The column '${column}' does not exist in the data extension`);
      checkValue(column, type, value);
    }
    const table = rows.get(key) ?? new Map<string, Record<string, unknown>>();
    rows.set(key, table);
    const id = definition.primaryKey.map((pk) => String(values[pk])).join('|');
    table.set(id, { ...table.get(id), ...values });
  }

  function dataExtension(encoded: string): string {
    const key = decodeURIComponent(encoded);
    if (!definitions[key]) throw sfmcError(404, 10000, `Data extension with external key '${key}' not found`);
    return key;
  }

  function issueToken(body: Json): Reply {
    tokenRequests += 1;
    if (body.grant_type !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Use client_credentials.', error_uri: 'https://developer.salesforce.com/docs' } };
    }
    const valid =
      body.client_id === SFMC_SANDBOX_CLIENT.clientId &&
      body.client_secret === SFMC_SANDBOX_CLIENT.clientSecret &&
      (body.account_id === undefined || body.account_id === SFMC_SANDBOX_MID);
    if (!valid) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed. Make sure that the client ID and client secret are valid.', error_uri: 'https://developer.salesforce.com/docs' } };
    }
    const at = now();
    for (const [token, expires] of tokens) if (expires <= at) tokens.delete(token);
    // A machine whose token expired, was refused or is in its last minutes (renewed ahead so no call carries a dead
    // one) asks again legitimately; one asking while it holds a fresh token is the token-per-call pattern.
    const held = [...tokens.values()].filter((expires) => expires - at > TOKEN_RENEWAL_WINDOW_MS).length;
    if (held >= (options.clientMachines ?? 1)) {
      return rateLimited(5, 'Rate limit exceeded: request a token once per its lifetime');
    }
    const accessToken = randomUUID().replace(/-/g, '');
    tokens.set(accessToken, at + TOKEN_EXPIRES_IN * 1000);
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: TOKEN_EXPIRES_IN,
        scope: 'data_extensions_read data_extensions_write journeys_execute',
        soap_instance_url: `${server.url}/`,
        rest_instance_url: `${server.url}/`,
      },
    };
  }

  function authorised(header: string | undefined): boolean {
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    const expires = token ? tokens.get(token) : undefined;
    return expires !== undefined && now() < expires;
  }

  function journeyEntry(key: unknown, contactKey: unknown, data: unknown): JourneyEntryRecord {
    if (typeof key !== 'string' || key.includes('.') || !events[key]) {
      throw sfmcError(400, 30000, `Event definition key '${String(key)}' does not exist or is not active`);
    }
    if (typeof contactKey !== 'string' || contactKey === '') throw sfmcError(400, 30001, 'ContactKey is required');
    const missing = (events[key] as string[]).filter((field) => obj(data)[field] === undefined);
    if (missing.length > 0) throw sfmcError(400, 30002, `Data validation failed: missing ${missing.join(', ')}`);
    return { eventInstanceId: randomUUID(), eventDefinitionKey: key, contactKey, data: obj(data) };
  }

  /**
   * Delete by contact key as documented (DeleteByContactKeys): `?type=keys`, `values` (contact keys) and
   * `DeleteOperationType: ContactAndAttributes` (AttributesOnly is reserved). Mirakl buyers' rows live in data
   * extensions keyed by the contact key, which the deletion clears.
   */
  function deleteContacts(type: string | null, body: Json): Reply {
    if (type !== 'keys') throw sfmcError(400, 10000, `type '${String(type)}' is not supported by this sandbox; use type=keys`);
    const values = body.values ?? body.Values;
    if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' || v === '')) {
      throw sfmcError(400, 10000, 'Values must be a non-empty array of contact keys');
    }
    if (body.DeleteOperationType !== 'ContactAndAttributes') {
      throw sfmcError(400, 10000, 'DeleteOperationType must be ContactAndAttributes (AttributesOnly is reserved for future use)');
    }
    for (const key of values as string[]) {
      deletedContacts.push(key);
      for (const table of rows.values()) for (const [id, row] of table) if (row.ContactKey === key) table.delete(id);
    }
    const at = new Date(now()).toISOString();
    return {
      status: 200,
      body: { operationInitiated: true, operationID: deletedContacts.length, requestServiceMessageID: randomUUID(), responseDateTime: at, hasErrors: false, resultMessages: [], serviceMessageID: randomUUID() },
    };
  }

  function apply(route: Route, param: string, body: unknown): Reply {
    switch (route.name) {
      case 'rowset': {
        const key = dataExtension(param);
        if (!Array.isArray(body)) throw sfmcError(400, 10000, 'The request body must be an array of rows');
        if (body.length > SYNC_MAX_ROWS) throw sfmcError(400, 10000, `At most ${SYNC_MAX_ROWS} rows per rowset request`);
        const flat = body.map((row) => {
          const keys = obj(obj(row).keys);
          const pkMissing = (definitions[key] as DataExtensionDefinition).primaryKey.filter((pk) => keys[pk] === undefined);
          if (pkMissing.length > 0) throw sfmcError(400, 10000, `Primary key column(s) ${pkMissing.join(', ')} must be given in keys`);
          return { ...obj(obj(row).values), ...keys };
        });
        // All or nothing, as the synchronous endpoint answers for the whole rowset.
        try {
          for (const row of flat) upsertRow(key, { ...row });
        } catch (error) {
          if (error instanceof RowError) throw sfmcError(400, 10000, error.message);
          throw error;
        }
        return { status: 200, body };
      }
      case 'asyncUpsert': {
        const key = dataExtension(param);
        const items = obj(body).items;
        if (!Array.isArray(items) || items.length === 0) throw sfmcError(400, 10000, 'items must be a non-empty array');
        if (items.length > ASYNC_MAX_ROWS) throw sfmcError(400, 10000, `At most ${ASYNC_MAX_ROWS} items per request`);
        const errors: Json[] = [];
        for (const item of items) {
          try {
            upsertRow(key, obj(item));
          } catch (error) {
            if (!(error instanceof RowError)) throw error;
            errors.push({ errorCode: 'UnexpectedError', message: error.message, status: 'Error' });
          }
        }
        const requestId = randomUUID();
        asyncJobs.set(requestId, { pollsLeft: options.asyncPolls ?? 1, errors, at: new Date(now()).toISOString() });
        return { status: 202, body: { requestId, resultMessages: [] } };
      }
      case 'asyncStatus':
      case 'asyncResults': {
        const job = asyncJobs.get(param);
        if (!job) throw sfmcError(404, 10000, `Request ${param} not found`);
        if (route.name === 'asyncResults') {
          return { status: 200, body: { page: 1, pageSize: 50, count: job.errors.length, items: job.errors } };
        }
        const pending = job.pollsLeft > 0;
        if (pending) job.pollsLeft -= 1;
        return {
          status: 200,
          body: {
            status: {
              callDateTime: job.at,
              ...(pending ? {} : { completionDateTime: new Date(now()).toISOString() }),
              hasErrors: !pending && job.errors.length > 0,
              pickupDateTime: job.at,
              requestStatus: pending ? 'Pending' : 'Complete',
              resultStatus: pending ? '' : job.errors.length > 0 ? 'Error' : 'OK',
              requestId: param,
            },
            requestId: param,
          },
        };
      }
      case 'journeyEvent': {
        const b = obj(body);
        const entry = journeyEntry(b.EventDefinitionKey, b.ContactKey, b.Data);
        journeyEntries.push(entry);
        return { status: 201, body: { eventInstanceId: entry.eventInstanceId } };
      }
      case 'journeyBatch': {
        const b = obj(body);
        const members = Array.isArray(b.members) ? (b.members as Json[]) : [];
        if (members.length === 0 || members.length > JOURNEY_BATCH_MAX) {
          throw sfmcError(400, 10000, `members must hold 1 to ${JOURNEY_BATCH_MAX} contacts (Interaction Count Limit Exceeded)`);
        }
        const answers = members.map((m) => {
          try {
            const entry = journeyEntry(b.eventDefinitionKey, m.contactKey, m.data);
            journeyEntries.push(entry);
            return { contactKey: m.contactKey, eventInstanceId: entry.eventInstanceId };
          } catch (reply) {
            const r = (reply as Reply).body as Json;
            return { contactKey: m.contactKey, errorcode: r.errorcode, message: r.message };
          }
        });
        const failed = answers.filter((a) => 'errorcode' in a).length;
        return { status: 202, body: { requestId: randomUUID(), count: members.length, notQueuedCount: failed, members: answers } };
      }
      default:
        throw sfmcError(404, 10000, 'Not found');
    }
  }

  function handle(request: VendorRequest, fault: SandboxFault | undefined): Reply | 'hang' {
    const route = ROUTES.find((r) => r.method === request.method && r.path.test(request.url.pathname));
    if (!route) return sfmcError(404, 10000, `${request.method} ${request.url.pathname} is not served by this sandbox`);
    let body: unknown;
    if (request.raw.length > 0) {
      if (request.raw.length > MAX_BODY_BYTES) return sfmcError(413, 10000, 'Request payload exceeds 5 MB');
      try {
        body = JSON.parse(request.raw.toString('utf8'));
      } catch {
        return sfmcError(400, 10000, 'The request body is not valid JSON');
      }
    }
    if (route.name === 'token') return issueToken(obj(body));
    if (!authorised(request.headers.authorization)) return sfmcError(401, 0, 'Not Authorized');
    const block = blocked.find((b) => !b.route || b.route === route.name);
    if (block) {
      block.remaining -= 1;
      if (block.remaining <= 0) blocked = blocked.filter((b) => b !== block);
      return sfmcError(429, 50200, 'Your requests are temporarily blocked.');
    }
    const admitted = limiter.admit('rest');
    if (!admitted.ok) return rateLimited(admitted.retryAfterSeconds);
    if (fault?.kind === 'status') {
      return fault.status === 429 ? rateLimited(fault.retryAfterSeconds ?? 1) : sfmcError(fault.status, 0, 'Internal server error');
    }
    if (fault?.kind === 'timeout' && !fault.afterEffect) return 'hang';
    let reply: Reply;
    try {
      reply =
        route.name === 'contactDelete'
          ? deleteContacts(request.url.searchParams.get('type'), obj(body))
          : apply(route, route.path.exec(request.url.pathname)?.[1] ?? '', body);
    } catch (error) {
      if (error instanceof Error) throw error;
      reply = error as Reply;
    }
    return fault?.kind === 'timeout' ? 'hang' : reply;
  }

  const server = await startVendorServer({
    port: options.port,
    maxBodyBytes: MAX_BODY_BYTES,
    now,
    routeOf: (method, path) => ROUTES.find((r) => r.method === method && r.path.test(path))?.name,
    handle,
    state: () => ({
      tokenRequests,
      rows: Object.fromEntries([...rows].map(([key, table]) => [key, [...table.values()]])),
      journeyEntries,
    }),
  });

  return {
    url: server.url,
    rows,
    journeyEntries,
    deletedContacts,
    get tokenRequests() {
      return tokenRequests;
    },
    requestsPerMinute,
    requests: server.requests,
    expireTokens() {
      for (const token of tokens.keys()) tokens.set(token, now());
    },
    inject(fault) {
      if (fault.kind === 'blocked') blocked.push({ remaining: fault.times, route: fault.route });
      else server.inject(fault);
    },
    reset() {
      rows.clear();
      journeyEntries.length = 0;
      deletedContacts.length = 0;
      tokens.clear();
      asyncJobs.clear();
      tokenRequests = 0;
      blocked = [];
      limiter.reset();
      server.reset();
    },
    close: () => server.close(),
  };
}

/**
 * For `npm start`: starts the sandbox when the configuration enables the SFMC connector, with the configured
 * journeys' event definitions, stores the package's client credentials under the connector's secret name and
 * points the connector's auth base URI at the sandbox.
 */
export async function attachSfmcSandbox(
  config: Config,
  secrets: { put(name: string, value: string): unknown },
  options: { port?: number } = {},
): Promise<{ config: Config; sandbox: SfmcSandbox } | undefined> {
  const sfmc = config.connectors.sfmc;
  if (!sfmc?.enabled) return undefined;
  const secretName = sfmc.secretName ?? 'marketbridge/sfmc';
  const configured = [sfmc.journeys.confirmed, sfmc.journeys.shipped].flatMap((j) => (j ? [j.eventDefinitionKey] : []));
  const sandbox = await startSfmcSandbox({
    port: options.port ?? DEFAULT_SFMC_SANDBOX_PORT,
    // The local runtime gives the connector one execution environment per concurrency slot, each with its own token,
    // and replaces one that timed out while its token still lives: room for one replacement per slot.
    clientMachines: 2 * sfmc.maxConcurrency,
    // The configured external keys, with the columns MarketBridge writes.
    dataExtensions: {
      [sfmc.dataExtensions.customers]: SFMC_SANDBOX_DATA_EXTENSIONS.MarketBridge_Customers as DataExtensionDefinition,
      [sfmc.dataExtensions.orders]: SFMC_SANDBOX_DATA_EXTENSIONS.MarketBridge_Orders as DataExtensionDefinition,
      [sfmc.dataExtensions.orderLines]: SFMC_SANDBOX_DATA_EXTENSIONS.MarketBridge_OrderLines as DataExtensionDefinition,
    },
    eventDefinitions: { ...SFMC_SANDBOX_EVENT_DEFINITIONS, ...Object.fromEntries(configured.map((key) => [key, ['OrderKey', 'OrderId']])) },
  });
  secrets.put(secretName, JSON.stringify(SFMC_SANDBOX_CLIENT));
  return {
    sandbox,
    config: { ...config, connectors: { ...config.connectors, sfmc: { ...sfmc, secretName, baseUrl: sandbox.url, accountId: SFMC_SANDBOX_MID } } },
  };
}
