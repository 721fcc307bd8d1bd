/**
 * The heart of ingest: compares a Mirakl order with its stored snapshot and yields only the business facts that
 * changed (PRODUCT.md §2, "Which business facts an order produces"). Pure: no I/O, no clock.
 */
import * as z from 'zod';
import { isRelayEmail, type MarketplaceConfig } from '../config';
import {
  type BusinessEvent,
  businessEvent,
  type Buyer,
  eventIds,
  type Order,
  type OrderLine,
} from '../events';
import type { ExceptionInput } from '../exceptions';
import {
  isKnownLineState,
  isKnownOrderState,
  type MiraklOrder,
  type MiraklOrderLine,
  readOrder,
} from '../mirakl/orders';
import { erasureEvent, isAnonymisedBuyer } from '../privacy/erasure';

/** What we remember of an order between polls. */
export interface OrderSnapshot {
  orderId: string;
  state: string;
  lastUpdated: string;
  lineStates: Record<string, string>;
  /** Incidents opened so far per line: the occurrence number in incident event ids. */
  incidentsOpened: Record<string, number>;
  /** Ids of every fact already published: each fact at most once, however often the order is re-read. */
  emitted: string[];
  /** Unknown states already reported, so each is logged once. */
  unknownStatesSeen: string[];
}

export interface OrderFactsContext {
  marketplace: MarketplaceConfig;
  component: string;
  backfill?: boolean;
}

export interface OrderFactsResult {
  orderId: string;
  events: BusinessEvent[];
  /** Undefined when the order could not be used: nothing is remembered, so a later read tries again. */
  snapshot?: OrderSnapshot;
  exception?: ExceptionInput;
  /** Operational notices (unknown states), free of personal data. */
  notices: string[];
  /** The order was older than what we already hold (an out-of-order or overlap re-delivery). */
  stale: boolean;
}

const NEVER_CONFIRMED = new Set(['STAGING', 'WAITING_ACCEPTANCE', 'REFUSED', 'CANCELED']);
const PAID_STATES = new Set(['SHIPPING', 'SHIPPED', 'TO_COLLECT', 'RECEIVED']);
const SHIPPED_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED']);
const SHIPPED_LINE_STATES = new Set(['SHIPPED', 'TO_COLLECT', 'RECEIVED']);

class UnusableOrder extends Error {}

function isoOrNull(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new UnusableOrder(`${field}: not a date`);
  return new Date(time).toISOString();
}

function isoRequired(value: string | null | undefined, field: string): string {
  const iso = isoOrNull(value, field);
  if (iso === null) throw new UnusableOrder(`${field}: missing`);
  return iso;
}

function latest(dates: (string | null)[]): string | null {
  const present = dates.filter((d): d is string => d !== null).sort();
  return present.at(-1) ?? null;
}

function address(raw: NonNullable<MiraklOrder['customer']>['shipping_address']): Buyer['shippingAddress'] {
  if (!raw) return null;
  return {
    firstName: raw.firstname ?? null,
    lastName: raw.lastname ?? null,
    street1: raw.street_1 ?? null,
    street2: raw.street_2 ?? null,
    postalCode: raw.zip_code ?? null,
    city: raw.city ?? null,
    region: raw.state ?? null,
    countryIso3: raw.country_iso_code ?? null,
    phone: raw.phone ?? null,
  };
}

function additionalField(fields: { code: string; value: unknown }[], code: string): string | null {
  const value = fields.find((f) => f.code.toLowerCase() === code)?.value;
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function toLine(line: MiraklOrderLine, index: number): OrderLine {
  const field = (name: string) => `order_lines[${index}].${name}`;
  return {
    lineId: line.order_line_id,
    index: line.order_line_index ?? null,
    state: line.order_line_state,
    offerSku: line.offer_sku ?? null,
    productSku: line.product_sku ?? null,
    productTitle: line.product_title ?? null,
    categoryCode: line.category_code ?? null,
    categoryLabel: line.category_label ?? null,
    brand: additionalField(line.order_line_additional_fields, 'brand'),
    imageUrl: line.product_medias?.find((m) => m.media_url)?.media_url ?? null,
    quantity: line.quantity,
    unitPrice: line.price_unit,
    price: line.price,
    shippingPrice: line.shipping_price,
    totalPrice: line.total_price,
    commissionFee: line.commission_fee,
    commissionTotal: line.total_commission,
    shippedAt: isoOrNull(line.shipped_date, field('shipped_date')),
    receivedAt: isoOrNull(line.received_date, field('received_date')),
  };
}

/** The buyer under the marketplace's relay policy: the relay address travels only when policy allows. */
function toBuyer(order: MiraklOrder, marketplace: MarketplaceConfig): Buyer | undefined {
  const customer = order.customer;
  const customerId = customer?.customer_id?.trim();
  if (!customer || !customerId) return undefined;
  const relay = order.customer_notification_email?.trim();
  const relayEmail =
    marketplace.relayEmail.policy === 'transactional' && relay && isRelayEmail(marketplace, relay) ? relay : null;
  const shippingAddress = address(customer.shipping_address);
  return {
    customerId,
    identity: eventIds.buyerIdentity(marketplace.id, customerId),
    firstName: customer.firstname ?? null,
    lastName: customer.lastname ?? null,
    civility: customer.civility ?? null,
    locale: customer.locale ?? null,
    relayEmail,
    shippingCountryIso3: shippingAddress?.countryIso3 ?? null,
    shippingAddress,
    billingAddress: address(customer.billing_address),
  };
}

function toOrder(order: MiraklOrder, buyer: Buyer): Order {
  const currency = order.currency_iso_code?.trim();
  if (!currency || currency.length !== 3) throw new UnusableOrder('currency_iso_code: missing or not ISO 4217');
  const lines = order.order_lines.map(toLine);
  const tracked = order.shipping_tracking || order.shipping_carrier_code || order.shipping_company;
  return {
    orderId: order.order_id,
    commercialId: order.commercial_id ?? null,
    state: order.order_state,
    channel: order.channel ? { code: order.channel.code ?? null, label: order.channel.label ?? null } : null,
    currency,
    subtotal: order.price,
    shippingTotal: order.shipping_price,
    total: order.total_price,
    commissionTotal: order.total_commission,
    createdAt: isoRequired(order.created_date, 'created_date'),
    updatedAt: isoRequired(order.last_updated_date, 'last_updated_date'),
    acceptedAt: isoOrNull(order.acceptance_decision_date, 'acceptance_decision_date'),
    debitedAt: isoOrNull(order.customer_debited_date, 'customer_debited_date'),
    shippingDeadline: isoOrNull(order.shipping_deadline, 'shipping_deadline'),
    paymentWorkflow: order.payment_workflow ?? null,
    hasIncident: Boolean(order.has_incident) || lines.some((l) => l.state === 'INCIDENT_OPEN'),
    buyer,
    lines,
    tracking: tracked
      ? {
          carrierCode: order.shipping_carrier_code ?? null,
          carrierName: order.shipping_company ?? null,
          trackingNumber: order.shipping_tracking ?? null,
          trackingUrl: order.shipping_tracking_url ?? null,
        }
      : null,
  };
}

function exceptionFor(
  ctx: OrderFactsContext,
  type: ExceptionInput['type'],
  ref: string,
  reason: string,
): ExceptionInput {
  return { type, marketplace: ctx.marketplace.id, ref, reason, component: ctx.component };
}

/**
 * Reads one raw OR11 order and derives the facts not yet emitted for it. Never throws for bad data: a record
 * missing what we need becomes an exception and the caller goes on with the rest of the page.
 */
export function orderFacts(raw: unknown, previous: OrderSnapshot | undefined, ctx: OrderFactsContext): OrderFactsResult {
  const reading = readOrder(raw);
  if (!reading.ok) {
    const ref = reading.orderId ?? '(no order_id)';
    return {
      orderId: ref,
      events: [],
      notices: [],
      stale: false,
      exception: exceptionFor(ctx, 'order.malformed', ref, `Mirakl order unusable: ${reading.problems.join('; ')}`),
    };
  }
  const mirakl = reading.order;
  const buyer = toBuyer(mirakl, ctx.marketplace);
  if (!buyer) {
    return {
      orderId: mirakl.order_id,
      events: [],
      notices: [],
      stale: false,
      exception: exceptionFor(
        ctx,
        'identity.missing',
        mirakl.order_id,
        'Order has no customer.customer_id, so the buyer cannot be identified; no fact was published',
      ),
    };
  }
  try {
    const order = toOrder(mirakl, buyer);
    if (previous && order.updatedAt < previous.lastUpdated) {
      return { orderId: order.orderId, events: [], snapshot: previous, notices: [], stale: true };
    }
    const facts = deriveFacts(order, mirakl, previous, ctx);
    // Mirakl anonymised the buyer: every destination erases them (functions/shared/privacy/erasure).
    if (isAnonymisedBuyer(raw)) {
      const erasure = erasureEvent(ctx.marketplace.id, buyer.customerId, 'mirakl-anonymised', order.updatedAt);
      if (!facts.snapshot.emitted.includes(erasure.id)) {
        facts.events.push(erasure);
        facts.snapshot.emitted.push(erasure.id);
      }
    }
    return { orderId: order.orderId, stale: false, ...facts };
  } catch (error) {
    if (!(error instanceof UnusableOrder) && !(error instanceof z.ZodError)) throw error;
    const problem =
      error instanceof z.ZodError
        ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
        : error.message;
    return {
      orderId: mirakl.order_id,
      events: [],
      notices: [],
      stale: false,
      exception: exceptionFor(ctx, 'order.malformed', mirakl.order_id, `Mirakl order unusable: ${problem}`),
    };
  }
}

function deriveFacts(
  order: Order,
  mirakl: MiraklOrder,
  previous: OrderSnapshot | undefined,
  ctx: OrderFactsContext,
): { events: BusinessEvent[]; snapshot: OrderSnapshot; notices: string[] } {
  const mp = ctx.marketplace.id;
  const id = order.orderId;
  const emitted = new Set(previous?.emitted ?? []);
  const events: BusinessEvent[] = [];
  const notices: string[] = [];
  const unknownSeen = new Set(previous?.unknownStatesSeen ?? []);
  const common = { schemaVersion: 1 as const, marketplace: mp, order, backfill: ctx.backfill ?? false };

  const emit = <E extends BusinessEvent>(event: E) => {
    if (emitted.has(event.id)) return;
    emitted.add(event.id);
    events.push(event);
  };

  const unknown = [order.state, ...order.lines.map((l) => l.state)].filter(
    (state, i) => !(i === 0 ? isKnownOrderState(state) : isKnownLineState(state)),
  );
  for (const state of new Set(unknown)) {
    if (!unknownSeen.has(state)) {
      unknownSeen.add(state);
      notices.push(`order ${id} has state "${state}" that MarketBridge does not know yet: kept, no purchase fact`);
    }
  }
  const statesKnown = unknown.length === 0;
  const lineShipped = order.lines.some((l) => l.shippedAt !== null || SHIPPED_LINE_STATES.has(l.state));
  const lineReceived = order.lines.some((l) => l.receivedAt !== null || l.state === 'RECEIVED');

  if (order.state === 'WAITING_ACCEPTANCE') {
    const deadline = new Date(Date.parse(order.createdAt) + ctx.marketplace.acceptance.windowHours * 3_600_000);
    emit(
      businessEvent('Order Awaiting Acceptance', {
        ...common,
        eventId: eventIds.awaitingAcceptance(mp, id),
        occurredAt: order.updatedAt,
        acceptanceDeadline: deadline.toISOString(),
      }),
    );
  }
  if (order.state === 'REFUSED') {
    emit(
      businessEvent('Order Refused', {
        ...common,
        eventId: eventIds.refused(mp, id),
        occurredAt: order.acceptedAt ?? order.updatedAt,
      }),
    );
  }

  const confirmedNow =
    statesKnown &&
    !NEVER_CONFIRMED.has(order.state) &&
    (PAID_STATES.has(order.state) || (order.state === 'CLOSED' && lineShipped) || order.debitedAt !== null);
  if (confirmedNow) {
    const linesDebited = latest(mirakl.order_lines.map((l) => isoOrNull(l.debited_date, 'debited_date')));
    emit(
      businessEvent('Order Confirmed', {
        ...common,
        eventId: eventIds.confirmed(mp, id),
        occurredAt: order.debitedAt ?? linesDebited ?? order.acceptedAt ?? order.updatedAt,
      }),
    );
  }
  const confirmed = emitted.has(eventIds.confirmed(mp, id));

  const shippedNow =
    SHIPPED_STATES.has(order.state) ||
    (order.state === 'CLOSED' && lineShipped) ||
    (order.state === 'SHIPPING' && order.lines.some((l) => SHIPPED_LINE_STATES.has(l.state)));
  if (confirmed && statesKnown && shippedNow) {
    emit(
      businessEvent('Order Shipped', {
        ...common,
        eventId: eventIds.shipped(mp, id),
        occurredAt: latest(order.lines.map((l) => l.shippedAt)) ?? order.updatedAt,
      }),
    );
  }
  const receivedNow = order.state === 'RECEIVED' || (order.state === 'CLOSED' && lineReceived);
  if (emitted.has(eventIds.shipped(mp, id)) && statesKnown && receivedNow) {
    emit(
      businessEvent('Order Received', {
        ...common,
        eventId: eventIds.received(mp, id),
        occurredAt: latest(order.lines.map((l) => l.receivedAt)) ?? order.updatedAt,
      }),
    );
  }

  const incidentsOpened = { ...(previous?.incidentsOpened ?? {}) };
  for (const line of order.lines) {
    const before = previous?.lineStates[line.lineId];
    const raw = mirakl.order_lines.find((l) => l.order_line_id === line.lineId);
    const occurredAt = isoOrNull(raw?.last_updated_date, 'order_lines.last_updated_date');
    if (line.state === 'INCIDENT_OPEN' && before !== 'INCIDENT_OPEN') {
      const occurrence = (incidentsOpened[line.lineId] ?? 0) + 1;
      incidentsOpened[line.lineId] = occurrence;
      emit(
        businessEvent('Order Incident Opened', {
          ...common,
          eventId: eventIds.incidentOpened(mp, id, line.lineId, occurrence),
          occurredAt: occurredAt ?? order.updatedAt,
          lineId: line.lineId,
          occurrence,
        }),
      );
    } else if (before === 'INCIDENT_OPEN' && line.state !== 'INCIDENT_OPEN') {
      const occurrence = incidentsOpened[line.lineId] ?? 1;
      emit(
        businessEvent('Order Incident Closed', {
          ...common,
          eventId: eventIds.incidentClosed(mp, id, line.lineId, occurrence),
          occurredAt: occurredAt ?? order.updatedAt,
          lineId: line.lineId,
          occurrence,
        }),
      );
    }
  }

  // Reversals only mean something for a purchase destinations have seen.
  if (confirmed) {
    mirakl.order_lines.forEach((raw, i) => {
      const line = order.lines[i] as OrderLine;
      for (const c of raw.cancelations) {
        emit(
          businessEvent('Order Cancelled', {
            ...common,
            eventId: eventIds.cancellation(mp, id, c.id),
            occurredAt: isoOrNull(c.created_date, 'cancelations.created_date') ?? order.updatedAt,
            scope: 'line',
            amount: c.amount + c.shipping_amount,
            cancellation: {
              cancellationId: c.id,
              amount: c.amount,
              shippingAmount: c.shipping_amount,
              quantity: c.quantity ?? null,
              reasonCode: c.reason_code ?? null,
              commissionTotal: c.commission_total_amount,
              line,
            },
          }),
        );
      }
      for (const r of raw.refunds) {
        if ((r.refund_state ?? r.state) !== 'REFUNDED') continue;
        emit(
          businessEvent('Order Refunded', {
            ...common,
            eventId: eventIds.refund(mp, id, r.id),
            occurredAt:
              isoOrNull(r.transaction_date, 'refunds.transaction_date') ??
              isoOrNull(r.created_date, 'refunds.created_date') ??
              order.updatedAt,
            refund: {
              refundId: r.id,
              orderRefundId: r.order_refund_id ?? null,
              amount: r.amount,
              shippingAmount: r.shipping_amount,
              quantity: r.quantity ?? null,
              reasonCode: r.reason_code ?? null,
              commissionTotal: r.commission_total_amount,
              line,
            },
          }),
        );
      }
    });
    if (order.state === 'CANCELED') {
      emit(
        businessEvent('Order Cancelled', {
          ...common,
          eventId: eventIds.cancelled(mp, id),
          occurredAt: order.updatedAt,
          scope: 'order',
          amount: order.total,
          cancellation: null,
        }),
      );
    }
  }

  return {
    events,
    notices,
    snapshot: {
      orderId: id,
      state: order.state,
      lastUpdated: order.updatedAt,
      lineStates: Object.fromEntries(order.lines.map((l) => [l.lineId, l.state])),
      incidentsOpened,
      emitted: [...emitted],
      unknownStatesSeen: [...unknownSeen],
    },
  };
}
