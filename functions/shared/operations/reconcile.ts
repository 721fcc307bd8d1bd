/**
 * Reconciliation: proves nothing was lost between Mirakl and each destination. For every Mirakl order updated in
 * the window it works out which facts each enabled connector should hold (the facts the order's current state
 * implies, plus every fact the poller recorded publishing for it) and checks each against the connector's own
 * delivery records (the idempotency records written when a delivery succeeds). An order with any fact missing is
 * listed with its value ("revenue leakage") and becomes a `reconciliation.missing` exception carrying the
 * missing events, so `exceptions retry` can re-publish them.
 */
import type { Config, ConnectorName, MarketplaceConfig } from '../config';
import { type BusinessEvent, type DetailType, MIRAKL_DETAIL_TYPES } from '../events';
import type { ExceptionRecorder } from '../exceptions';
import { orderFacts } from '../ingest/orderFacts';
import type { CallGate, MiraklOrdersSource, OrderSnapshotStore } from '../ingest/ports';
import { minIntervalMs, waitForCallSlot } from '../mirakl/callFrequency';
import { inFlight } from '../connector/inFlight';
import { readOrder } from '../mirakl/orders';
import { CONNECTOR_ROUTES, enabledConnectors } from '../routes';

export const RECONCILE_COMPONENT = 'reconcile';
/** Metrics the reconcile Lambda publishes per connector (dimension `connector`), and the inbox gauge. */
export const RECONCILE_METRICS = {
  orders: 'ReconciliationOrders',
  delivered: 'ReconciliationDelivered',
  missing: 'ReconciliationMissing',
  openExceptions: 'OpenExceptions',
} as const;
/** Orders updated this recently may still be on their way downstream: the scheduled run leaves them for tomorrow. */
export const SETTLE_MINUTES = 15;

/** The window of a run: from `since` up to the settle margin before `now`. */
export function reconcileWindow(now: Date, since: Date, settleMinutes = SETTLE_MINUTES): { since: Date; until: Date } {
  return { since, until: new Date(now.getTime() - settleMinutes * 60_000) };
}
/** Stored and printed lists stop here; the counts stay exact. */
const MAX_LISTED = 500;
/** Orders checked at once (each check is one read per expected fact). */
const CONCURRENCY = 16;

/** What the connectors recorded as delivered. */
export interface DeliveryRecords {
  /** The subset of `eventIds` that `connector` has delivered. */
  delivered(connector: ConnectorName, eventIds: readonly string[]): Promise<Set<string>>;
}

export interface MissingOrder {
  orderId: string;
  total: number;
  currency: string;
  /** Event ids the connector has no delivery record for. */
  missing: string[];
}

export interface ConnectorReconciliation {
  connector: ConnectorName;
  /** Mirakl orders in the window with at least one fact for this connector. */
  orders: number;
  delivered: number;
  missing: number;
  /** Value of the orders with something missing, per currency. */
  revenueLeakage: Record<string, number>;
  /** The missing orders (the first MAX_LISTED). */
  missingOrders: MissingOrder[];
}

export interface Reconciliation {
  marketplace: string;
  since: string;
  until: string;
  ranAt: string;
  ordersInMirakl: number;
  connectors: ConnectorReconciliation[];
}

export interface ReconcileDeps {
  config: Config;
  orders(marketplace: string): Promise<MiraklOrdersSource>;
  gate: CallGate;
  snapshots: Pick<OrderSnapshotStore, 'load'>;
  deliveries: DeliveryRecords;
  /** Absent for a read-only run (the weekly report). */
  exceptions?: ExceptionRecorder;
  now(): Date;
  sleep?(ms: number): Promise<void>;
}

const ORDER_FACT_SUFFIXES: readonly [RegExp, DetailType][] = [
  [/^awaiting-acceptance$/, 'Order Awaiting Acceptance'],
  [/^confirmed$/, 'Order Confirmed'],
  [/^shipped$/, 'Order Shipped'],
  [/^received$/, 'Order Received'],
  [/^refused$/, 'Order Refused'],
  [/^(cancelled|cancel:.+)$/, 'Order Cancelled'],
  [/^refund:.+$/, 'Order Refunded'],
  [/^incident-opened:.+$/, 'Order Incident Opened'],
  [/^incident-closed:.+$/, 'Order Incident Closed'],
];

/** The detail type of a recorded order fact id (`{mp}:{orderId}:{fact}`), from the deterministic id scheme. */
export function detailTypeOfOrderFact(eventId: string, marketplace: string, orderId: string): DetailType | undefined {
  const prefix = `${marketplace}:${orderId}:`;
  if (!eventId.startsWith(prefix)) return undefined;
  const fact = eventId.slice(prefix.length);
  return ORDER_FACT_SUFFIXES.find(([pattern]) => pattern.test(fact))?.[1];
}

/** Connectors that take Mirakl order facts for this marketplace, with the detail types they take. */
export function orderConnectors(config: Config, marketplace: string): { connector: ConnectorName; detailTypes: Set<DetailType> }[] {
  return enabledConnectors(config).flatMap((connector) => {
    const only = config.connectors[connector]?.marketplaces ?? [];
    if (only.length > 0 && !only.includes(marketplace)) return [];
    const detailTypes = new Set(CONNECTOR_ROUTES[connector].filter((type) => (MIRAKL_DETAIL_TYPES as readonly string[]).includes(type)));
    return detailTypes.size > 0 ? [{ connector, detailTypes }] : [];
  });
}

interface ExpectedOrder {
  orderId: string;
  total: number;
  currency: string;
  /** Every fact id this order should have produced, with its detail type. */
  facts: Map<string, DetailType>;
  /** The facts rebuilt from Mirakl's current data, for re-publishing. */
  events: Map<string, BusinessEvent>;
}

/**
 * The facts an order should have produced: what its current state implies (derived as for a first sighting) and
 * what the poller recorded publishing (history the current state no longer shows, such as incidents).
 */
export function expectedOrder(raw: unknown, emitted: readonly string[], marketplace: MarketplaceConfig): ExpectedOrder | undefined {
  const reading = readOrder(raw);
  if (!reading.ok) return undefined; // Already an `order.malformed` exception from the poller.
  const order = reading.order;
  const derived = orderFacts(raw, undefined, { marketplace, component: RECONCILE_COMPONENT });
  const facts = new Map<string, DetailType>();
  const events = new Map<string, BusinessEvent>();
  for (const event of derived.events) {
    // Incident occurrences are numbered by history: only the recorded ones are authoritative.
    if (event.detailType === 'Order Incident Opened' || event.detailType === 'Order Incident Closed') continue;
    facts.set(event.id, event.detailType);
    events.set(event.id, event);
  }
  for (const id of emitted) {
    const type = detailTypeOfOrderFact(id, marketplace.id, order.order_id);
    if (type) facts.set(id, type);
  }
  return { orderId: order.order_id, total: order.total_price ?? 0, currency: order.currency_iso_code ?? 'XXX', facts, events };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * The poller and reconciliation share Mirakl's OR11 call frequency. Asking as often as the poller does (every
 * 500 ms) for two of the persona's OR11 intervals gives reconciliation a fair turn at two slot openings even when the
 * poller runs at Mirakl's maximum; capped well inside the reconciliation Lambda's 15 minutes.
 */
const OR11_SLOT_POLL_MS = 500;
const OR11_SLOT_PATIENCE_CAP_MS = 10 * 60_000;
const or11Patience = (marketplace: MarketplaceConfig) =>
  Math.min(2 * (minIntervalMs('OR11', marketplace.persona) ?? 60_000), OR11_SLOT_PATIENCE_CAP_MS);

/** Reconciles one marketplace over Mirakl orders last updated in [since, until]. */
export async function reconcileMarketplace(
  deps: ReconcileDeps,
  marketplace: MarketplaceConfig,
  window: { since: Date; until: Date },
): Promise<Reconciliation> {
  const connectors = orderConnectors(deps.config, marketplace.id);
  const results = new Map<ConnectorName, ConnectorReconciliation>(
    connectors.map(({ connector }) => [connector, { connector, orders: 0, delivered: 0, missing: 0, revenueLeakage: {}, missingOrders: [] }]),
  );
  let ordersInMirakl = 0;
  const patienceMs = or11Patience(marketplace);
  const slot = await waitForCallSlot(deps.gate, marketplace.id, 'OR11', { patienceMs, pollEveryMs: OR11_SLOT_POLL_MS, sleep: deps.sleep });
  if (!slot.granted) {
    throw new Error(
      `no OR11 call slot for ${marketplace.id} in ${patienceMs / 60_000} minutes: the poller takes every one ` +
        '(poll less often than Mirakl allows, or run reconciliation again)',
    );
  }
  const source = await deps.orders(marketplace.id);
  const untilMs = window.until.getTime();
  for await (const page of source.pages({ startUpdateDate: window.since })) {
    // Pages run past `until` on purpose (see ingestRun): orders updated since are left for the next run.
    const inWindow = page.filter((raw) => {
      const reading = readOrder(raw);
      return reading.ok && Date.parse(reading.order.last_updated_date) <= untilMs;
    });
    ordersInMirakl += inWindow.length;
    const ids = inWindow.map((raw) => (raw as { order_id: string }).order_id);
    const snapshots = await deps.snapshots.load(marketplace.id, ids);
    const expected = inWindow.flatMap((raw, i) => {
      const order = expectedOrder(raw, snapshots.get(ids[i] ?? '')?.snapshot.emitted ?? [], marketplace);
      return order ? [order] : [];
    });
    await inFlight(expected, CONCURRENCY, async (order) => {
      for (const { connector, detailTypes } of connectors) {
        const wanted = [...order.facts].filter(([, type]) => detailTypes.has(type)).map(([id]) => id);
        if (wanted.length === 0) continue;
        const result = results.get(connector) as ConnectorReconciliation;
        result.orders += 1;
        const delivered = await deps.deliveries.delivered(connector, wanted);
        const missing = wanted.filter((id) => !delivered.has(id));
        if (missing.length === 0) {
          result.delivered += 1;
          continue;
        }
        result.missing += 1;
        result.revenueLeakage[order.currency] = round2((result.revenueLeakage[order.currency] ?? 0) + order.total);
        if (result.missingOrders.length < MAX_LISTED) {
          result.missingOrders.push({ orderId: order.orderId, total: order.total, currency: order.currency, missing });
        }
        await deps.exceptions?.record({
          type: 'reconciliation.missing',
          marketplace: marketplace.id,
          ref: order.orderId,
          component: connector,
          reason: `${connector} has no delivery record for ${missing.join(', ')} (order value ${order.total} ${order.currency}); retry re-publishes the facts`,
          payloadRef: missing[0],
          events: missing.flatMap((id) => {
            const event = order.events.get(id);
            return event ? [event] : [];
          }),
        });
      }
    });
  }
  for (const result of results.values()) result.missingOrders.sort((a, b) => a.orderId.localeCompare(b.orderId));
  return {
    marketplace: marketplace.id,
    since: window.since.toISOString(),
    until: window.until.toISOString(),
    ranAt: deps.now().toISOString(),
    ordersInMirakl,
    connectors: [...results.values()],
  };
}

/** Totals per connector over several marketplaces: what the metrics and the alarm see. */
export function totalsByConnector(reconciliations: readonly Reconciliation[]): Map<ConnectorName, { orders: number; delivered: number; missing: number }> {
  const totals = new Map<ConnectorName, { orders: number; delivered: number; missing: number }>();
  for (const result of reconciliations.flatMap((r) => r.connectors)) {
    const total = totals.get(result.connector) ?? { orders: 0, delivered: 0, missing: 0 };
    total.orders += result.orders;
    total.delivered += result.delivered;
    total.missing += result.missing;
    totals.set(result.connector, total);
  }
  return totals;
}
