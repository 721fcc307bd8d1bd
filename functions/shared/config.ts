/**
 * The one typed configuration of a MarketBridge deployment. The same file drives `cdk deploy`, the Lambdas
 * (serialised into MARKETBRIDGE_CONFIG by the stack) and the local runtime. Secrets are referenced by name only.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { minIntervalMs } from './mirakl/callFrequency';
import { ORGANIZATION_ID } from './sfcc/scapi';

/** Mirakl's published maximum OR11 frequency per persona, in whole minutes (the schedule's unit). */
export const OR11_MIN_INTERVAL_MINUTES = {
  default: Math.ceil((minIntervalMs('OR11', 'default') ?? 0) / 60_000),
  'external-partner': Math.ceil((minIntervalMs('OR11', 'external-partner') ?? 0) / 60_000),
} as const;

const slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,30}$/, 'must be a lowercase slug (letters, digits, dashes; 2-31 characters)');
const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name');

export const RelayEmailPolicy = z.enum(['never', 'transactional']);
export type RelayEmailPolicy = z.infer<typeof RelayEmailPolicy>;
export const MarketingPolicy = z.enum(['allowed', 'forbidden']);
export type MarketingPolicy = z.infer<typeof MarketingPolicy>;

const MarketplaceSchema = z
  .object({
    id: slug,
    name: z.string().min(1),
    baseUrl: z.url({ protocol: /^https?$/ }),
    apiKeySecret: secretName,
    shopId: z.number().int().positive().optional(),
    /** Mirakl persona: an "External Partner" may call OR11 at most every 15 minutes. */
    persona: z.enum(['default', 'external-partner']).default('default'),
    relayEmail: z
      .object({
        /** Glob patterns (`*` wildcard, case-insensitive) recognising the operator's anonymised relay addresses. */
        patterns: z.array(z.string().min(3)).min(1).default(['*@notification.mirakl.net']),
        policy: RelayEmailPolicy,
      })
      .strict(),
    marketing: MarketingPolicy,
    storeUrl: z.url().optional(),
    poll: z
      .object({
        intervalMinutes: z.number().int().positive().default(5),
        /** Re-read window before the cursor: Mirakl itself subtracts a delta, late writes still happen. */
        overlapMinutes: z.number().int().min(1).max(120).default(10),
        /** Daily sweep re-reads this many days to catch anything the incremental polls missed. */
        sweepDays: z.number().int().min(1).max(30).default(3),
        /** First poll of a new deployment starts this far back. */
        initialLookbackHours: z.number().int().min(1).max(24 * 90).default(24),
      })
      .strict()
      .default({ intervalMinutes: 5, overlapMinutes: 10, sweepDays: 3, initialLookbackHours: 24 }),
    acceptance: z
      .object({
        mode: z.enum(['auto', 'manual']).default('auto'),
        whenOutOfStock: z.enum(['leave', 'refuse']).default('leave'),
        /** Hours the operator gives before auto-refusal; Mirakl does not publish it per order. */
        windowHours: z.number().positive().default(72),
        alarmMarginHours: z.number().positive().default(12),
      })
      .strict()
      .default({ mode: 'auto', whenOutOfStock: 'leave', windowHours: 72, alarmMarginHours: 12 }),
    stockBuffer: z.number().int().min(0).default(0),
    /** Minutes between scheduled stock runs (push of pending changes, STO02/STO03 follow-up); STO01 allows 1. */
    stockPushMinutes: z.number().int().min(1).max(1440).default(5),
    /** Seeds the carrier map: warehouse/SFCC carrier name → Mirakl carrier code (SH21); checked before the table. */
    carrierMap: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** The operator enabled multi-shipment (PC01 `features.shipment.multi_shipment`): dispatch uses ST01. */
    multiShipment: z.boolean().default(false),
  })
  .strict()
  .superRefine((mp, ctx) => {
    const floor = OR11_MIN_INTERVAL_MINUTES[mp.persona];
    if (mp.poll.intervalMinutes < floor) {
      ctx.addIssue({
        code: 'custom',
        path: ['poll', 'intervalMinutes'],
        message: `must be at least ${floor} minute(s): Mirakl's maximum OR11 frequency for persona "${mp.persona}"`,
      });
    }
    if (mp.acceptance.alarmMarginHours >= mp.acceptance.windowHours) {
      ctx.addIssue({
        code: 'custom',
        path: ['acceptance', 'alarmMarginHours'],
        message: 'must be smaller than acceptance.windowHours',
      });
    }
  });
export type MarketplaceConfig = z.infer<typeof MarketplaceSchema>;

export const CONNECTOR_NAMES = [
  'klaviyo',
  'dotdigital',
  'sfmc',
  'sfcc-orders',
  'mirakl-stock',
  'mirakl-tracking',
  'mirakl-acceptance',
] as const;
export type ConnectorName = (typeof CONNECTOR_NAMES)[number];

/** Lambda event-source maximum concurrency: how many batches run at once (each connector's pacer bounds the rate). */
const maxConcurrency = (byDefault: number) => z.number().int().min(2).max(1000).default(byDefault);

const ConnectorSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Secrets Manager name of the destination's credentials; the Mirakl return path uses the marketplace key. */
    secretName: secretName.optional(),
    baseUrl: z.url().optional(),
    maxConcurrency: maxConcurrency(2),
    /** Only these marketplaces are routed to the connector; empty means all. */
    marketplaces: z.array(slug).default([]),
  })
  .strict();
export type ConnectorConfig = z.infer<typeof ConnectorSchema>;

const metricName = z.string().min(1).max(127);
const dataFieldName = z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be a data field name (≤ 20 of letters, digits, - and _)');

/** `auto`: bulk calls for backlogs (batches of at least `bulkMinRecords`) and history loads; single calls otherwise. */
const bulkOptions = {
  bulk: z.enum(['auto', 'always', 'never']).default('auto'),
  bulkMinRecords: z.number().int().min(2).max(10_000).default(10),
};
/**
 * Async imports/upserts of one bulk batch in flight at once, each polled until done: a batch then waits on the
 * destination's processing about once instead of once per import. Every call still takes its turn under the pacing.
 */
const historyInFlight = z.number().int().min(1).max(10).default(3);
/** Klaviyo's options on top of the common connector settings. */
export const KlaviyoConnectorSchema = ConnectorSchema.extend({
  /** Flows, segments and CLV key off the exact metric name: choose once, never rename. */
  metrics: z
    .object({
      placedOrder: metricName.default('Placed Order'),
      orderedProduct: metricName.default('Ordered Product'),
      fulfilledOrder: metricName.default('Fulfilled Order'),
      cancelledOrder: metricName.default('Cancelled Order'),
      refundedOrder: metricName.default('Refunded Order'),
      incidentOpened: metricName.default('Order Incident Opened'),
      incidentClosed: metricName.default('Order Incident Closed'),
    })
    .strict()
    .prefault({}),
  /** Profile property that holds the relay address under policy `transactional`; never the profile e-mail. */
  relayEmailProperty: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a property name (letters, digits, underscores)')
    .default('mirakl_relay_email'),
  ...bulkOptions,
}).strict();
export type KlaviyoConnectorConfig = z.infer<typeof KlaviyoConnectorSchema>;

/**
 * Dotdigital's tiered rate limits are per account package, shown in-app and not published as numbers. These defaults
 * are a model, the local sandbox's: 120 calls a minute in tier low (bulk imports, enrolments), 1,200 in medium,
 * 2,400 in high. Set the account's own (Settings > Access > API rate limits).
 */
export const DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE = { low: 120, medium: 1_200, high: 2_400 } as const;
const tierBudget = (tier: keyof typeof DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE) =>
  z.number().int().min(1).max(1_000_000).default(DOTDIGITAL_MODELLED_REQUESTS_PER_MINUTE[tier]);

/** Dotdigital's options. `listId` names the private, non-marketing list every buyer goes into (never a marketing one). */
export const DotdigitalConnectorSchema = ConnectorSchema.extend({
  /**
   * A history load waits on each async import, so one instance fills a quarter of the bulk tier; six instances, each
   * paced at its share of `requestsPerMinute`, use 93 % of it with no 429 (docs/performance.md).
   */
  maxConcurrency: maxConcurrency(6),
  /** Calls a minute per tier the connector paces under (all instances together). */
  requestsPerMinute: z
    .object({ low: tierBudget('low'), medium: tierBudget('medium'), high: tierBudget('high') })
    .strict()
    .prefault({}),
  listId: z.number().int().positive().optional(),
  /** Custom contact identifier (created at start-up) carrying `mirakl:{marketplace}:{customer_id}`. */
  customIdentifier: z
    .string()
    .regex(/^[-A-Za-z0-9_]{1,50}$/, 'must be a Dotdigital identifier name (letters, digits, - and _)')
    .default('mirakl_id'),
  /** Contact-scoped insight data collection of type `orders`; its first records fix its schema. */
  collectionName: z
    .string()
    .regex(/^[-A-Za-z_][-A-Za-z0-9_]{1,255}$/, 'must be a Dotdigital collection name')
    .default('Orders'),
  /** Contact data fields (created at start-up when missing): ≤ 20 characters of [A-Za-z0-9_-]. */
  dataFields: z
    .object({
      identity: dataFieldName.default('MIRAKL_ID'),
      marketplace: dataFieldName.default('MARKETPLACE'),
      firstName: dataFieldName.default('FIRSTNAME'),
      lastName: dataFieldName.default('LASTNAME'),
      marketingAllowed: dataFieldName.default('MARKETING_ALLOWED'),
    })
    .strict()
    .prefault({}),
  /**
   * Programmes a fact enrols the contact in (the only marketing trigger we fire); none by default. Dotdigital allows
   * 20 enrolment calls an hour per account, so enrolments wait in the state table and a run every 3 minutes enrols
   * each programme's contacts in one call, programmes taking turns: each added programme lengthens the wait.
   */
  programmes: z
    .object({ confirmed: z.number().int().positive().optional(), shipped: z.number().int().positive().optional() })
    .strict()
    .default({}),
  ...bulkOptions,
  historyInFlight,
})
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && c.listId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['listId'], message: 'is required: the private, non-marketing list for buyers' });
    }
  });
export type DotdigitalConnectorConfig = z.infer<typeof DotdigitalConnectorSchema>;

const deKey = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be a data extension external key');
/** An API-event entry source; `transactional` journeys may run for marketplaces that forbid marketing. */
const journey = z
  .object({
    eventDefinitionKey: z.string().regex(/^[^.]{1,200}$/, 'must not contain a period (SFMC rejects it)'),
    transactional: z.boolean().default(false),
  })
  .strict();

/**
 * SFMC publishes no REST request rate: it answers 429 (errorcode 50100 with Retry-After) once an account's traffic
 * degrades the service. This default is a model, not a published limit: 2,500 REST calls a minute, the ceiling
 * Salesforce support is reported to suggest (a practitioner's report, no primary source). Set the account's own.
 */
export const SFMC_MODELLED_REQUESTS_PER_MINUTE = 2_500;

/** Salesforce Marketing Cloud's options: `baseUrl` overrides the auth host derived from `subdomain`. */
export const SfmcConnectorSchema = ConnectorSchema.extend({
  subdomain: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be the tenant subdomain (lowercase letters, digits, -)').optional(),
  /** MID of the target business unit; the installed package's own unit when absent. */
  accountId: z.number().int().positive().optional(),
  dataExtensions: z
    .object({
      customers: deKey.default('MarketBridge_Customers'),
      orders: deKey.default('MarketBridge_Orders'),
      orderLines: deKey.default('MarketBridge_OrderLines'),
    })
    .strict()
    .prefault({}),
  journeys: z.object({ confirmed: journey.optional(), shipped: journey.optional() }).strict().default({}),
  /**
   * A history load waits on SFMC finishing each async upsert, so one instance fills about a tenth of the budget; ten,
   * each paced at its share of `requestsPerMinute`, use 95 % of it with no 429 (docs/performance.md). Each
   * execution environment holds one token per 20-minute life: ten tokens, not a token-per-call pattern.
   */
  maxConcurrency: maxConcurrency(10),
  /** REST calls a minute the connector paces under (all instances together); token requests are apart. */
  requestsPerMinute: z.number().int().min(10).max(1_000_000).default(SFMC_MODELLED_REQUESTS_PER_MINUTE),
  ...bulkOptions,
  historyInFlight,
})
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && !c.subdomain && !c.baseUrl) {
      ctx.addIssue({ code: 'custom', path: ['subdomain'], message: 'is required (or baseUrl, the auth base URI)' });
    }
  });
export type SfmcConnectorConfig = z.infer<typeof SfmcConnectorSchema>;

const sfccAttribute = z.string().regex(/^c_[A-Za-z0-9_]{1,254}$/, 'must be a custom attribute name starting with c_');

/**
 * Salesforce B2C Commerce: where accepted orders are created (SCAPI Orders) and where available-to-sell is read
 * (OCAPI inventory records, or Omnichannel Inventory). Shared by `sfcc-orders`, `mirakl-acceptance` and
 * `mirakl-stock`. The secret holds `amClientId`/`amClientSecret` (Account Manager API client: reads, updates,
 * inventory) and `slasClientId`/`slasClientSecret` (private SLAS client with `sfcc.ts_ext_on_behalf_of`: createOrders).
 */
export const SfccSchema = z
  .object({
    /** SCAPI routing short code. */
    shortCode: z.string().regex(/^[A-Za-z0-9]{8}$/, 'must be the 8-character SCAPI short code'),
    organizationId: z
      .string()
      .regex(ORGANIZATION_ID, 'must be f_ecom_{realm}_{instance}, e.g. f_ecom_zzxy_prd'),
    siteId: z.string().min(1).max(32),
    /** OCAPI Data API host, e.g. `abcd-123.dx.commercecloud.salesforce.com`. */
    instanceHost: z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'must be a host name'),
    secretName,
    /** Serves SCAPI, OCAPI and Account Manager from one origin instead of Salesforce's hosts (the local sandbox). */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    inventory: z
      .object({
        /** `ocapi`: B2C inventory lists; `oci`: the site runs Omnichannel Inventory (inventory records are read-only). */
        source: z.enum(['ocapi', 'oci']).default('ocapi'),
        /** The inventory list (OCAPI), or the OCI location group, holding marketplace stock. */
        listId: z.string().regex(/^[A-Za-z0-9_-]{2,128}$/, 'must be an inventory list / location group id'),
        /** OCI only: the tenant group id OCI uses in place of the organization id. */
        tenantGroupId: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    order: z
      .object({
        paymentMethodId: z.string().min(1).max(256).default('MIRAKL_MARKETPLACE'),
        shippingMethod: z.string().min(1).default('MARKETPLACE'),
      })
      .strict()
      .prefault({}),
    /** Custom attributes (defined in Business Manager on both Basket and Order objects) that finance reconciles on. */
    attributes: z
      .object({
        miraklOrderId: sfccAttribute.default('c_miraklOrderId'),
        marketplace: sfccAttribute.default('c_miraklMarketplace'),
        gross: sfccAttribute.default('c_miraklGross'),
        commissionTotal: sfccAttribute.default('c_miraklCommissionTotal'),
        net: sfccAttribute.default('c_miraklNet'),
        refunded: sfccAttribute.default('c_miraklRefunded'),
        cancelled: sfccAttribute.default('c_miraklCancelled'),
        /** A text attribute holding the refunds and cancellations applied (JSON): makes each apply exactly once. */
        adjustments: sfccAttribute.default('c_miraklAdjustments'),
        lineId: sfccAttribute.default('c_miraklOrderLineId'),
        lineCommissionFee: sfccAttribute.default('c_miraklCommissionFee'),
        lineCommissionTotal: sfccAttribute.default('c_miraklCommissionTotal'),
        /** On shipments: the carrier the warehouse used (SCAPI shipments carry a tracking number, no carrier). */
        shipmentCarrier: sfccAttribute.default('c_carrierCode'),
        shipmentTrackingUrl: sfccAttribute.default('c_trackingUrl'),
        /** A boolean set (at creation) on orders a history load created: they are never exported to fulfilment. */
        historyImport: sfccAttribute.default('c_miraklHistoryImport'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.inventory?.source === 'oci' && !c.inventory.tenantGroupId) {
      ctx.addIssue({ code: 'custom', path: ['inventory', 'tenantGroupId'], message: 'is required when inventory.source is "oci"' });
    }
  });
export type SfccConfig = z.infer<typeof SfccSchema>;

/** Alarms, the daily reconciliation and the weekly report; thresholds say how much the business tolerates. */
export const OperationsSchema = z
  .object({
    /** E-mail addresses subscribed to the alarm topic, which also carries the weekly health report. */
    subscribers: z.array(z.email()).default([]),
    alarms: z
      .object({
        /** A connector queue whose oldest message is older than this is not keeping up. */
        oldestMessageAgeMinutes: z.number().int().min(1).default(30),
        /** Default: three poll intervals of the marketplace, at least 15 minutes. */
        cursorLagMinutes: z.number().int().min(1).optional(),
        /** 429 answers per connector in 5 minutes (the HTTP layer retries them, but steady pressure slows delivery). */
        rateLimitedPer5Minutes: z.number().int().min(0).default(50),
        openExceptions: z.number().int().min(0).default(25),
        /** Orders a connector is missing after the daily reconciliation. */
        reconciliationMissing: z.number().int().min(0).default(0),
      })
      .strict()
      .prefault({}),
    reconciliation: z
      .object({
        /** Days of Mirakl orders the daily run compares; at most 14, delivery records are kept 15 days. */
        days: z.number().int().min(1).max(14).default(3),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type OperationsConfig = z.infer<typeof OperationsSchema>;

export const ConfigSchema = z
  .object({
    marketplaces: z.array(MarketplaceSchema).min(1),
    connectors: z
      .object({
        klaviyo: KlaviyoConnectorSchema.optional(),
        dotdigital: DotdigitalConnectorSchema.optional(),
        sfmc: SfmcConnectorSchema.optional(),
        'sfcc-orders': ConnectorSchema.optional(),
        'mirakl-stock': ConnectorSchema.optional(),
        'mirakl-tracking': ConnectorSchema.optional(),
        'mirakl-acceptance': ConnectorSchema.optional(),
      } satisfies Record<ConnectorName, z.ZodType>)
      .strict()
      .default({}),
    sfcc: SfccSchema.optional(),
    operations: OperationsSchema.prefault({}),
    webhook: z
      .object({
        secretName: secretName,
        maxBodyBytes: z.number().int().min(1024).max(1_048_576).default(262_144),
        replayWindowSeconds: z.number().int().min(30).max(3600).default(300),
        /**
         * Caps what unauthenticated callers can make the account run. Off by default: new AWS accounts often have a
         * concurrency quota of 10, and any reservation there makes the deployment fail.
         */
        reservedConcurrency: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.marketplaces.forEach((mp, i) => {
      if (seen.has(mp.id)) {
        ctx.addIssue({ code: 'custom', path: ['marketplaces', i, 'id'], message: `duplicate marketplace id "${mp.id}"` });
      }
      seen.add(mp.id);
    });
    const sfccOrders = cfg.connectors['sfcc-orders'];
    if (sfccOrders?.enabled && !cfg.sfcc) {
      ctx.addIssue({ code: 'custom', path: ['sfcc'], message: 'is required when connectors.sfcc-orders is enabled' });
    }
    if (sfccOrders?.secretName && cfg.sfcc && sfccOrders.secretName !== cfg.sfcc.secretName) {
      ctx.addIssue({
        code: 'custom',
        path: ['connectors', 'sfcc-orders', 'secretName'],
        message: `must be sfcc.secretName ("${cfg.sfcc.secretName}"): the connector reads the SFCC credentials`,
      });
    }
    for (const [name, connector] of Object.entries(cfg.connectors)) {
      connector?.marketplaces.forEach((id, i) => {
        if (!seen.has(id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['connectors', name, 'marketplaces', i],
            message: `unknown marketplace "${id}"`,
          });
        }
      });
    }
  });
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** Validates raw configuration, naming each bad field and the value it had. */
export function parseConfig(input: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(root)';
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? 'missing' : `got ${JSON.stringify(value)?.slice(0, 80)}`;
    return `${field}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(source, problems);
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseConfig(raw, path);
}

/** The built-in sandbox deployment used by `npm start`, the tests and `plan`. */
export const sandboxConfigInput: ConfigInput = {
  marketplaces: [
    {
      id: 'debenhams',
      name: 'Debenhams',
      baseUrl: 'http://127.0.0.1:4010/debenhams',
      apiKeySecret: 'marketbridge/mirakl/debenhams',
      relayEmail: { patterns: ['*@notification.mirakl.net'], policy: 'transactional' },
      marketing: 'allowed',
      storeUrl: 'https://www.debenhams.com',
      poll: { intervalMinutes: 1, overlapMinutes: 10, sweepDays: 3, initialLookbackHours: 72 },
      stockBuffer: 2,
    },
    {
      id: 'decathlon',
      name: 'Decathlon',
      baseUrl: 'http://127.0.0.1:4010/decathlon',
      apiKeySecret: 'marketbridge/mirakl/decathlon',
      shopId: 2043,
      relayEmail: { patterns: ['*@notification.mirakl.net', '*@relay.decathlon.example'], policy: 'never' },
      marketing: 'forbidden',
      storeUrl: 'https://www.decathlon.co.uk',
      poll: { intervalMinutes: 1, overlapMinutes: 10, sweepDays: 3, initialLookbackHours: 72 },
      stockBuffer: 1,
    },
  ],
  connectors: {},
  webhook: { secretName: 'marketbridge/webhook' },
};

export const sandboxConfig: Config = parseConfig(sandboxConfigInput, 'built-in sandbox configuration');

/**
 * Lambda environments are capped at 4 KB, and a full deployment's configuration is larger: the stack ships it
 * gzipped and base64-encoded behind this prefix (plain JSON is accepted too, for hand-set environments).
 */
export const ENCODED_CONFIG_PREFIX = 'gzip+base64:';

export function encodeConfigForEnvironment(config: Omit<Config, 'operations'> & Partial<Config>): string {
  return `${ENCODED_CONFIG_PREFIX}${gzipSync(JSON.stringify(config), { level: 9 }).toString('base64')}`;
}

function decodeConfigFromEnvironment(value: string): string {
  if (!value.startsWith(ENCODED_CONFIG_PREFIX)) return value;
  return gunzipSync(Buffer.from(value.slice(ENCODED_CONFIG_PREFIX.length), 'base64')).toString('utf8');
}

/** Reads `--config FILE` when given, else MARKETBRIDGE_CONFIG (set by the stack), else the sandbox. */
export function resolveConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  if (options.file) return loadConfigFile(options.file);
  const fromEnv = (options.env ?? process.env).MARKETBRIDGE_CONFIG;
  if (fromEnv) {
    let raw: unknown;
    try {
      raw = JSON.parse(decodeConfigFromEnvironment(fromEnv));
    } catch (error) {
      throw new ConfigError('MARKETBRIDGE_CONFIG', [`not valid JSON: ${(error as Error).message}`]);
    }
    return parseConfig(raw, 'MARKETBRIDGE_CONFIG');
  }
  return sandboxConfig;
}

export function marketplaceById(config: Config, id: string): MarketplaceConfig {
  const marketplace = config.marketplaces.find((mp) => mp.id === id);
  if (!marketplace) {
    const known = config.marketplaces.map((mp) => mp.id).join(', ');
    throw new ConfigError('marketplace', [`unknown marketplace "${id}" (configured: ${known})`]);
  }
  return marketplace;
}

/** Case-insensitive glob match of an address against the marketplace's relay patterns. */
export function isRelayEmail(marketplace: MarketplaceConfig, email: string): boolean {
  return marketplace.relayEmail.patterns.some((pattern) => {
    const regex = new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      'i',
    );
    return regex.test(email);
  });
}
