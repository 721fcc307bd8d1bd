/**
 * The state of the sandbox marketplaces: their orders and how those orders move through Mirakl's lifecycle.
 * Deterministic for a given seed, clock and call sequence, so tests can replay a marketplace exactly. The HTTP
 * server only reads and mutates the world through these methods; OR21/OR23/OR24/STO01 handlers call the same
 * lifecycle methods that `tick()` uses to simulate the operator, the customers and the payment provider.
 */
import { countryByIso3, profileFor, type MarketplaceInput, type MarketplaceProfile, type SandboxOffer } from './catalogue';
import { Random } from './random';
import type { MiraklAddress, MiraklCancelation, MiraklCarrier, MiraklCustomer, MiraklOrder, MiraklOrderLine, MiraklRefund } from './types';

export type { MarketplaceInput } from './catalogue';

export type MiraklWorldErrorCode =
  | 'MARKETPLACE_NOT_FOUND'
  | 'ORDER_NOT_FOUND'
  | 'ORDER_LINE_NOT_FOUND'
  | 'ORDER_INVALID_STATE'
  | 'ORDER_LINE_INVALID_STATE'
  | 'ORDER_LINE_ACCEPTANCE_DECISION_MISSING'
  | 'REFUND_NOT_FOUND'
  | 'INVALID_AMOUNT';

/** Codes follow Mirakl's OR21 error codes where one exists, so API handlers can pass them through. */
export class MiraklWorldError extends Error {
  constructor(
    readonly code: MiraklWorldErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MiraklWorldError';
  }
}

export interface MiraklWorldOptions {
  marketplaces: MarketplaceInput[];
  seed?: number;
  clock?: () => Date;
  /** Accept waiting orders on tick, as a seller's back-office rule would; off when our acceptance connector runs. */
  autoAccept?: boolean;
  /** Ship orders on tick, as a seller shipping by hand would; off when our dispatch connector ships them (OR23/OR24). */
  autoShip?: boolean;
  /** Hours before Mirakl auto-refuses an order left in WAITING_ACCEPTANCE. */
  acceptanceWindowHours?: number;
}

export interface CreateOrderInput {
  state?: 'STAGING' | 'WAITING_ACCEPTANCE';
  createdAt?: Date;
  lines?: { offerSku?: string; quantity?: number; unitPrice?: number }[];
  /** A channel code of the marketplace, or null for an order without channel. */
  channelCode?: string | null;
  /** Reuse an existing buyer of this marketplace (repeat purchase). */
  customerId?: string;
  countryIso3?: string;
  paymentWorkflow?: string;
}

export interface AcceptanceDecision {
  id: string;
  accepted: boolean;
}

export interface TrackingInput {
  carrierCode?: string;
  /** Free-text carrier for carriers not in the SH21 list (OR23 `carrier_name`). */
  carrierName?: string;
  trackingNumber: string;
  trackingUrl?: string;
}

export interface RefundInput {
  quantity?: number;
  shippingAmount?: number;
  reasonCode?: string;
}

interface Buyer {
  customer: MiraklCustomer;
  relayEmail: string;
}

interface OrderRecord {
  order: MiraklOrder;
  acceptanceDeadline: number;
  /** Line state to restore when an incident closes. */
  beforeIncident: Map<string, string>;
}

interface Market {
  profile: MarketplaceProfile;
  records: Map<string, OrderRecord>;
  buyers: Buyer[];
  nextOrder: number;
  nextRefund: number;
  nextCancelation: number;
}

const HOUR = 3_600_000;
const COMMISSION_VAT_RATE = 20;
const LINE_TERMINAL = new Set(['CANCELED', 'REFUSED', 'REFUNDED']);
const CANCELABLE_ORDER_STATES = new Set(['STAGING', 'WAITING_ACCEPTANCE', 'WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT', 'SHIPPING']);
const REFUNDABLE_LINE_STATES = new Set(['SHIPPING', 'SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED', 'INCIDENT_OPEN']);

const round2 = (n: number) => Math.round(n * 100) / 100;
/** Mirakl returns UTC with `Z`, without milliseconds. */
const iso = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const sum = (values: number[]) => round2(values.reduce((a, b) => a + b, 0));

export class MiraklWorld {
  private readonly random: Random;
  private readonly clock: () => Date;
  private readonly markets = new Map<string, Market>();
  /** Seeding history replays past events at their own time. */
  private timeOverride: Date | undefined;
  readonly acceptanceWindowHours: number;
  autoAccept: boolean;
  autoShip: boolean;

  constructor(options: MiraklWorldOptions) {
    this.random = new Random(options.seed ?? 1);
    this.clock = options.clock ?? (() => new Date());
    this.autoAccept = options.autoAccept ?? true;
    this.autoShip = options.autoShip ?? true;
    this.acceptanceWindowHours = options.acceptanceWindowHours ?? 72;
    options.marketplaces.forEach((input, index) => {
      const profile = profileFor(input, index);
      this.markets.set(input.id, {
        profile,
        records: new Map(),
        buyers: [],
        nextOrder: 2_400_000 + this.random.int(1_000, 90_000),
        nextRefund: 51_000 + this.random.int(0, 900),
        nextCancelation: 72_000 + this.random.int(0, 900),
      });
    });
  }

  now(): Date {
    return this.timeOverride ?? this.clock();
  }

  marketplaceIds(): string[] {
    return [...this.markets.keys()];
  }

  /** Shop settings of a marketplace (API key, shop id, currency, channels). */
  marketplace(mp: string): Readonly<MarketplaceProfile> {
    return this.market(mp).profile;
  }

  /** SH21: carriers the operator has configured. */
  carriers(mp: string): MiraklCarrier[] {
    return structuredClone(this.market(mp).profile.carriers);
  }

  /** The shop's offers with the quantity Mirakl holds for each. */
  offers(mp: string): SandboxOffer[] {
    return structuredClone(this.market(mp).profile.offers);
  }

  /** STO01 applying a line: false when the shop has no offer with this SKU. */
  setOfferQuantity(mp: string, sku: string, quantity: number): boolean {
    const offer = this.market(mp).profile.offers.find((o) => o.sku === sku);
    if (!offer) return false;
    offer.quantity = quantity;
    return true;
  }

  get(mp: string, orderId: string): MiraklOrder | undefined {
    const record = this.market(mp).records.get(orderId);
    return record ? structuredClone(record.order) : undefined;
  }

  /** All orders of a marketplace, by creation date then order id (OR11's `dateCreated` sort). */
  orders(mp: string): MiraklOrder[] {
    return [...this.market(mp).records.values()]
      .map((record) => record.order)
      .sort(byCreatedThenId)
      .map((order) => structuredClone(order));
  }

  /** The live orders without copying, for serving OR11 pages of a large world; never mutate them. */
  view(mp: string): readonly Readonly<MiraklOrder>[] {
    return [...this.market(mp).records.values()].map((record) => record.order);
  }

  acceptanceDeadline(mp: string, orderId: string): Date {
    return new Date(this.record(mp, orderId).acceptanceDeadline);
  }

  createOrder(mp: string, input: CreateOrderInput = {}): MiraklOrder {
    const market = this.market(mp);
    const created = input.createdAt ?? this.now();
    return this.at(created, () => structuredClone(this.newOrder(market, input).order));
  }

  /** STAGING → WAITING_ACCEPTANCE once the operator's fraud check passes. */
  release(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['STAGING']);
    record.acceptanceDeadline = this.now().getTime() + this.acceptanceWindowHours * HOUR;
    this.setAll(record, 'WAITING_ACCEPTANCE');
  }

  /** OR21. Lines not listed are an error, as in Mirakl; all lines refused refuses the order. */
  accept(mp: string, orderId: string, lines?: AcceptanceDecision[]): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['WAITING_ACCEPTANCE']);
    const decisions = new Map((lines ?? record.order.order_lines.map((l) => ({ id: l.order_line_id, accepted: true }))).map((d) => [d.id, d.accepted]));
    for (const id of decisions.keys()) this.line(record, id);
    const undecided = record.order.order_lines.filter((l) => !decisions.has(l.order_line_id));
    if (undecided.length > 0) {
      throw new MiraklWorldError('ORDER_LINE_ACCEPTANCE_DECISION_MISSING', `no decision for line(s) ${undecided.map((l) => l.order_line_id).join(', ')}`);
    }
    const now = iso(this.now());
    for (const line of record.order.order_lines) {
      line.order_line_state = decisions.get(line.order_line_id) ? 'WAITING_DEBIT' : 'REFUSED';
      line.last_updated_date = now;
    }
    record.order.acceptance_decision_date = now;
    const anyAccepted = [...decisions.values()].some(Boolean);
    record.order.order_state = anyAccepted ? 'WAITING_DEBIT' : 'REFUSED';
    this.touch(record);
  }

  /** Seller refuses the whole order (OR21 with every line refused). */
  refuse(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['WAITING_ACCEPTANCE']);
    record.order.acceptance_decision_date = iso(this.now());
    this.setAll(record, 'REFUSED');
  }

  /** The operator asks the payment provider to debit the buyer. */
  requestDebit(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['WAITING_DEBIT']);
    this.setLines(record, ['WAITING_DEBIT'], 'WAITING_DEBIT_PAYMENT');
    record.order.order_state = 'WAITING_DEBIT_PAYMENT';
    this.touch(record);
  }

  /** Payment confirmed: the order becomes SHIPPING and may now produce an "Order Confirmed" fact. */
  debit(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT']);
    const now = iso(this.now());
    record.order.customer_debited_date = now;
    record.order.transaction_date = now;
    record.order.transaction_number = `TX${this.random.int(100_000_000, 999_999_999)}`;
    for (const line of record.order.order_lines) {
      if (line.order_line_state === 'WAITING_DEBIT' || line.order_line_state === 'WAITING_DEBIT_PAYMENT') {
        line.debited_date = now;
      }
    }
    this.setLines(record, ['WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT'], 'SHIPPING');
    record.order.order_state = 'SHIPPING';
    this.touch(record);
  }

  /** OR23: carrier and tracking number, before or after shipping. */
  setTracking(mp: string, orderId: string, tracking: TrackingInput): void {
    const market = this.market(mp);
    const record = this.record(mp, orderId);
    this.expectState(record, ['SHIPPING', 'SHIPPED', 'TO_COLLECT']);
    const carrier = tracking.carrierCode ? market.profile.carriers.find((c) => c.code === tracking.carrierCode) : undefined;
    const order = record.order;
    if (carrier) {
      order.shipping_carrier_code = carrier.code;
      order.shipping_company = carrier.label;
    } else {
      delete order.shipping_carrier_code;
      order.shipping_company = tracking.carrierName ?? tracking.carrierCode ?? 'Unknown carrier';
    }
    order.shipping_tracking = tracking.trackingNumber;
    const url = tracking.trackingUrl ?? carrier?.tracking_url?.replace('{trackingId}', tracking.trackingNumber);
    if (url) order.shipping_tracking_url = url;
    else delete order.shipping_tracking_url;
    this.touch(record);
  }

  /** OR24: every SHIPPING line is shipped. */
  ship(mp: string, orderId: string, tracking?: TrackingInput): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['SHIPPING']);
    if (tracking) this.setTracking(mp, orderId, tracking);
    const now = iso(this.now());
    for (const line of record.order.order_lines) {
      if (line.order_line_state === 'SHIPPING') line.shipped_date = now;
    }
    this.setLines(record, ['SHIPPING'], 'SHIPPED');
    record.order.order_state = 'SHIPPED';
    record.order.has_invoice = true;
    this.touch(record);
  }

  /** ST01 with `shipped`: the listed lines are shipped; the order is SHIPPED once no line is left SHIPPING. */
  shipLines(mp: string, orderId: string, lineIds: readonly string[], tracking?: TrackingInput): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['SHIPPING']);
    const lines = lineIds.map((id) => this.line(record, id));
    const notShipping = lines.find((line) => line.order_line_state !== 'SHIPPING');
    if (notShipping) {
      throw new MiraklWorldError('ORDER_LINE_INVALID_STATE', `line ${notShipping.order_line_id} is ${notShipping.order_line_state}`);
    }
    if (tracking) this.setTracking(mp, orderId, tracking);
    const now = iso(this.now());
    for (const line of lines) {
      line.order_line_state = 'SHIPPED';
      line.shipped_date = now;
      line.last_updated_date = now;
    }
    if (!record.order.order_lines.some((line) => line.order_line_state === 'SHIPPING')) {
      record.order.order_state = 'SHIPPED';
      record.order.has_invoice = true;
    }
    this.touch(record);
  }

  receive(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['SHIPPED', 'TO_COLLECT']);
    const now = iso(this.now());
    for (const line of record.order.order_lines) {
      if (line.order_line_state === 'SHIPPED' || line.order_line_state === 'TO_COLLECT') line.received_date = now;
      else if (record.beforeIncident.get(line.order_line_id) === 'SHIPPED') {
        line.received_date = now;
        record.beforeIncident.set(line.order_line_id, 'RECEIVED');
      }
    }
    this.setLines(record, ['SHIPPED', 'TO_COLLECT'], 'RECEIVED');
    record.order.order_state = 'RECEIVED';
    this.touch(record);
  }

  close(mp: string, orderId: string): void {
    const record = this.record(mp, orderId);
    this.expectState(record, ['SHIPPED', 'TO_COLLECT', 'RECEIVED']);
    this.setLines(record, ['SHIPPED', 'TO_COLLECT', 'RECEIVED'], 'CLOSED');
    record.order.order_state = 'CLOSED';
    this.touch(record);
  }

  /** OR29: cancels the whole order; once paid, each remaining quantity becomes a cancelation with an id. */
  cancel(mp: string, orderId: string, reasonCode = '34'): void {
    const market = this.market(mp);
    const record = this.record(mp, orderId);
    this.expectState(record, [...CANCELABLE_ORDER_STATES]);
    if (record.order.customer_debited_date) {
      for (const line of record.order.order_lines) {
        const remaining = remainingQuantity(line);
        if (!LINE_TERMINAL.has(line.order_line_state) && remaining > 0) {
          this.addCancelation(market, line, remaining, reasonCode);
        }
      }
    }
    record.order.order_state_reason_code = reasonCode;
    this.setAll(record, 'CANCELED', (line) => !LINE_TERMINAL.has(line.order_line_state));
  }

  /** OR30: cancels some quantity of one line before shipping; returns the cancelation id. */
  cancelLine(mp: string, orderId: string, lineId: string, quantity?: number, reasonCode = '34'): string {
    const market = this.market(mp);
    const record = this.record(mp, orderId);
    this.expectState(record, ['WAITING_DEBIT', 'WAITING_DEBIT_PAYMENT', 'SHIPPING']);
    const line = this.line(record, lineId);
    if (LINE_TERMINAL.has(line.order_line_state)) {
      throw new MiraklWorldError('ORDER_LINE_INVALID_STATE', `line ${lineId} is ${line.order_line_state}`);
    }
    const remaining = remainingQuantity(line);
    const qty = quantity ?? remaining;
    if (!Number.isInteger(qty) || qty < 1 || qty > remaining) {
      throw new MiraklWorldError('INVALID_AMOUNT', `quantity must be 1..${remaining}`);
    }
    const cancelation = this.addCancelation(market, line, qty, reasonCode);
    if (remainingQuantity(line) === 0) line.order_line_state = 'CANCELED';
    if (record.order.order_lines.every((l) => l.order_line_state === 'CANCELED' || l.order_line_state === 'REFUSED')) {
      record.order.order_state = 'CANCELED';
    }
    this.touch(record);
    return cancelation.id;
  }

  /** OR28: a refund request on one line, WAITING_REFUND until the payment provider confirms it. Returns its id. */
  refundLine(mp: string, orderId: string, lineId: string, amount: number, input: RefundInput = {}): string {
    const market = this.market(mp);
    const record = this.record(mp, orderId);
    const line = this.line(record, lineId);
    if (!line.debited_date || !REFUNDABLE_LINE_STATES.has(line.order_line_state)) {
      throw new MiraklWorldError('ORDER_LINE_INVALID_STATE', `line ${lineId} is ${line.order_line_state} and cannot be refunded`);
    }
    const refundable = round2(line.price - sum(line.refunds.map((r) => r.amount)));
    if (!(amount > 0) || amount > refundable) {
      throw new MiraklWorldError('INVALID_AMOUNT', `refund amount must be in (0, ${refundable}]`);
    }
    const now = iso(this.now());
    const shippingAmount = round2(input.shippingAmount ?? 0);
    const commission = round2(line.commission_fee * ((amount + shippingAmount) / (line.price + line.shipping_price || 1)));
    const commissionTax = round2((commission * COMMISSION_VAT_RATE) / 100);
    const tax = line.taxes[0];
    const refund: MiraklRefund = {
      id: String(market.nextRefund++),
      order_refund_id: this.random.uuid(),
      amount: round2(amount),
      shipping_amount: shippingAmount,
      quantity: input.quantity ?? 0,
      reason_code: input.reasonCode ?? '14',
      refund_state: 'WAITING_REFUND',
      state: 'WAITING_REFUND',
      commission_amount: commission,
      commission_tax_amount: commissionTax,
      commission_taxes: [{ code: 'OPERATOR_VAT', amount: commissionTax }],
      commission_total_amount: round2(commission + commissionTax),
      taxes: tax ? [{ code: tax.code, rate: tax.rate, amount: round2((amount * tax.rate) / (100 + tax.rate)) }] : [],
      created_date: now,
    };
    line.refunds.push(refund);
    line.last_updated_date = now;
    this.touch(record);
    return refund.id;
  }

  /** The payment provider confirms a refund; a line refunded in full becomes REFUNDED. */
  confirmRefund(mp: string, orderId: string, refundId: string): void {
    const record = this.record(mp, orderId);
    const line = record.order.order_lines.find((l) => l.refunds.some((r) => r.id === refundId));
    const refund = line?.refunds.find((r) => r.id === refundId);
    if (!line || !refund) throw new MiraklWorldError('REFUND_NOT_FOUND', `refund ${refundId} not found on order ${orderId}`);
    if (refund.refund_state === 'REFUNDED') return;
    const now = iso(this.now());
    refund.refund_state = 'REFUNDED';
    refund.state = 'REFUNDED';
    refund.transaction_date = now;
    refund.transaction_number = `RF${this.random.int(100_000_000, 999_999_999)}`;
    line.last_updated_date = now;
    const refunded = sum(line.refunds.filter((r) => r.refund_state === 'REFUNDED').map((r) => r.amount));
    if (refunded >= line.price) {
      line.order_line_state = 'REFUNDED';
      record.beforeIncident.delete(line.order_line_id);
    }
    this.touch(record);
  }

  openIncident(mp: string, orderId: string, lineId: string, reasonCode = '16'): void {
    const record = this.record(mp, orderId);
    const line = this.line(record, lineId);
    if (!['SHIPPED', 'TO_COLLECT', 'RECEIVED', 'CLOSED'].includes(line.order_line_state)) {
      throw new MiraklWorldError('ORDER_LINE_INVALID_STATE', `line ${lineId} is ${line.order_line_state}`);
    }
    record.beforeIncident.set(lineId, line.order_line_state);
    line.order_line_state = 'INCIDENT_OPEN';
    line.order_line_state_reason_code = reasonCode;
    line.order_line_state_reason_label = INCIDENT_REASONS[reasonCode] ?? 'Incident opened by the customer';
    line.last_updated_date = iso(this.now());
    this.touch(record);
  }

  closeIncident(mp: string, orderId: string, lineId: string): void {
    const record = this.record(mp, orderId);
    const line = this.line(record, lineId);
    const previous = record.beforeIncident.get(lineId);
    if (line.order_line_state !== 'INCIDENT_OPEN' || !previous) {
      throw new MiraklWorldError('ORDER_LINE_INVALID_STATE', `line ${lineId} has no open incident`);
    }
    record.beforeIncident.delete(lineId);
    line.order_line_state = previous;
    delete line.order_line_state_reason_code;
    delete line.order_line_state_reason_label;
    line.last_updated_date = iso(this.now());
    this.touch(record);
  }

  /**
   * The operator anonymises a buyer (Mirakl AN01): every order of theirs keeps its customer id and amounts, while
   * names, street addresses, phones and the relay e-mail go. The schema's required fields stay, empty, so orders
   * still validate; OR11 serves the orders as updated. Returns the orders touched.
   */
  anonymiseBuyer(mp: string, customerId: string): string[] {
    const market = this.market(mp);
    const touched: string[] = [];
    for (const record of market.records.values()) {
      const order = record.order;
      if (order.customer.customer_id !== customerId) continue;
      const { civility: _civility, ...customer } = order.customer;
      order.customer = {
        ...customer,
        firstname: '',
        lastname: '',
        billing_address: anonymousAddress(order.customer.billing_address),
        shipping_address: anonymousAddress(order.customer.shipping_address),
      };
      delete order.customer_notification_email;
      this.touch(record);
      touched.push(order.order_id);
    }
    // Their next order would be a new buyer to Mirakl too.
    market.buyers = market.buyers.filter((buyer) => buyer.customer.customer_id !== customerId);
    return touched;
  }

  /** Forces any state, even one Mirakl has not published yet, on the order and all its lines (tests). */
  setState(mp: string, orderId: string, state: string): void {
    this.setAll(this.record(mp, orderId), state);
  }

  /** Refuses, without a decision date, every order left in WAITING_ACCEPTANCE past its deadline (Mirakl does). */
  expireAcceptances(): void {
    const now = this.now().getTime();
    for (const market of this.markets.values()) {
      for (const record of market.records.values()) {
        if (record.order.order_state === 'WAITING_ACCEPTANCE' && now >= record.acceptanceDeadline) this.autoRefuse(record);
      }
    }
  }

  /** One step of marketplace life: new orders, acceptance, payment, shipping, delivery, refunds, incidents. */
  tick(): void {
    this.expireAcceptances();
    for (const market of this.markets.values()) {
      const mp = market.profile.id;
      for (const record of [...market.records.values()]) this.evolve(mp, record);
      const arrivals = this.random.chance(0.6) ? this.random.int(1, 2) : 0;
      for (let i = 0; i < arrivals; i += 1) {
        this.newOrder(market, { state: this.random.chance(0.3) ? 'STAGING' : 'WAITING_ACCEPTANCE' });
      }
    }
  }

  /**
   * A realistic starting set per marketplace: about thirty orders created over the last 48 hours in every state,
   * with partial refunds and cancellations, incidents, unmapped SKUs, unpaid and auto-refused orders.
   */
  seedHistory(): void {
    const end = this.now();
    for (const market of this.markets.values()) {
      const mp = market.profile.id;
      const unmapped = market.profile.offers.filter((o) => o.sku.startsWith('UNMAPPED-')).map((o) => o.sku);
      const mapped = market.profile.offers.filter((o) => !o.sku.startsWith('UNMAPPED-')).map((o) => o.sku);
      const offer = (list: string[], i: number) => list[i % Math.max(list.length, 1)];
      HISTORY.forEach((scenario, index) => {
        const created = new Date(end.getTime() - scenario.ageHours * HOUR);
        const lineSkus = scenario.unmapped
          ? [offer(mapped, index), offer(unmapped, index)]
          : Array.from({ length: scenario.lines ?? 1 }, (_, i) => offer(mapped, index + i * 3));
        const order = this.at(created, () =>
          this.newOrder(
            market,
            {
              state: scenario.staging ? 'STAGING' : 'WAITING_ACCEPTANCE',
              lines: lineSkus.map((sku) => ({ offerSku: sku, quantity: scenario.quantity })),
              ...(scenario.noChannel ? { channelCode: null } : {}),
            },
            market.profile.relayDomains[index % market.profile.relayDomains.length],
          ),
        ).order;
        const lineIds = order.order_lines.map((l) => l.order_line_id);
        let hoursAfter = 0;
        for (const step of scenario.steps ?? []) {
          hoursAfter += step.after;
          const when = new Date(Math.min(created.getTime() + hoursAfter * HOUR, end.getTime() - 60_000));
          this.at(when, () => this.applyStep(mp, order.order_id, lineIds, step.do));
        }
      });
    }
  }

  private applyStep(mp: string, orderId: string, lineIds: string[], step: HistoryStep['do']): void {
    const first = lineIds[0] as string;
    const last = lineIds[lineIds.length - 1] as string;
    switch (step) {
      case 'accept':
        return this.accept(mp, orderId);
      case 'acceptFirstOnly':
        return this.accept(mp, orderId, lineIds.map((id, i) => ({ id, accepted: i === 0 })));
      case 'refuse':
        return this.refuse(mp, orderId);
      case 'autoRefuse':
        return this.autoRefuse(this.record(mp, orderId));
      case 'requestDebit':
        return this.requestDebit(mp, orderId);
      case 'debit':
        return this.debit(mp, orderId);
      case 'ship':
        return this.ship(mp, orderId, this.trackingFor(this.market(mp)));
      case 'receive':
        return this.receive(mp, orderId);
      case 'close':
        return this.close(mp, orderId);
      case 'cancel':
        return this.cancel(mp, orderId);
      case 'cancelLastLineOne':
        this.cancelLine(mp, orderId, last, 1, '35');
        return;
      case 'refundPartial': {
        const line = this.line(this.record(mp, orderId), first);
        this.refundLine(mp, orderId, first, round2(line.price_unit * 0.4), { reasonCode: '15' });
        return;
      }
      case 'refundLastLineFull': {
        const line = this.line(this.record(mp, orderId), last);
        this.refundLine(mp, orderId, last, line.price, { quantity: line.quantity, shippingAmount: line.shipping_price });
        return;
      }
      case 'confirmRefunds':
        for (const line of this.record(mp, orderId).order.order_lines) {
          for (const refund of line.refunds) this.confirmRefund(mp, orderId, refund.id);
        }
        return;
      case 'openIncident':
        return this.openIncident(mp, orderId, first);
      case 'closeIncident':
        return this.closeIncident(mp, orderId, first);
    }
  }

  private evolve(mp: string, record: OrderRecord): void {
    const r = this.random;
    const order = record.order;
    const id = order.order_id;
    for (const line of order.order_lines) {
      for (const refund of line.refunds) {
        if (refund.refund_state === 'WAITING_REFUND' && r.chance(0.5)) this.confirmRefund(mp, id, refund.id);
      }
      if (line.order_line_state === 'INCIDENT_OPEN' && record.beforeIncident.has(line.order_line_id) && r.chance(0.25)) {
        if (r.chance(0.5)) this.tryRefund(mp, record, line);
        if (line.order_line_state === 'INCIDENT_OPEN') this.closeIncident(mp, id, line.order_line_id);
      }
    }
    switch (order.order_state) {
      case 'STAGING':
        if (r.chance(0.5)) this.release(mp, id);
        return;
      case 'WAITING_ACCEPTANCE':
        if (!this.autoAccept || !r.chance(0.4)) return;
        if (r.chance(0.03)) return this.refuse(mp, id);
        if (order.order_lines.length > 1 && r.chance(0.1)) {
          return this.accept(mp, id, order.order_lines.map((l, i) => ({ id: l.order_line_id, accepted: i > 0 })));
        }
        return this.accept(mp, id);
      case 'WAITING_DEBIT':
        if (r.chance(0.6)) this.requestDebit(mp, id);
        return;
      case 'WAITING_DEBIT_PAYMENT':
        if (r.chance(0.02)) return this.cancel(mp, id, '40');
        if (r.chance(0.5)) this.debit(mp, id);
        return;
      case 'SHIPPING': {
        const open = order.order_lines.filter((l) => l.order_line_state === 'SHIPPING');
        if (open.length > 1 && r.chance(0.04)) {
          this.cancelLine(mp, id, r.pick(open).order_line_id, 1, '35');
          return;
        }
        if (r.chance(0.01)) return this.cancel(mp, id);
        if (this.autoShip && r.chance(0.35)) this.ship(mp, id, this.trackingFor(this.market(mp)));
        return;
      }
      case 'SHIPPED': {
        const shipped = order.order_lines.filter((l) => l.order_line_state === 'SHIPPED');
        if (shipped.length > 0 && r.chance(0.01)) return this.openIncident(mp, id, r.pick(shipped).order_line_id);
        if (r.chance(0.3)) this.receive(mp, id);
        return;
      }
      case 'RECEIVED': {
        const received = order.order_lines.filter((l) => l.order_line_state === 'RECEIVED');
        if (received.length > 0 && r.chance(0.015)) return this.tryRefund(mp, record, r.pick(received));
        if (received.length > 0 && r.chance(0.01)) return this.openIncident(mp, id, r.pick(received).order_line_id);
        if (!order.has_incident && r.chance(0.15)) this.close(mp, id);
        return;
      }
    }
  }

  private tryRefund(mp: string, record: OrderRecord, line: MiraklOrderLine): void {
    const refundable = round2(line.price - sum(line.refunds.map((x) => x.amount)));
    if (refundable <= 0) return;
    const amount = round2(Math.min(refundable, line.price_unit * (this.random.int(3, 10) / 10)));
    this.refundLine(mp, record.order.order_id, line.order_line_id, amount, { quantity: amount >= line.price_unit ? 1 : 0 });
  }

  private autoRefuse(record: OrderRecord): void {
    delete record.order.acceptance_decision_date;
    record.order.order_state_reason_code = 'ACCEPTANCE_TIMEOUT';
    record.order.order_state_reason_label = 'Order not accepted within the acceptance delay';
    this.setAll(record, 'REFUSED');
  }

  private trackingFor(market: Market): TrackingInput {
    const carrier = this.random.pick(market.profile.carriers);
    const n = (len: number) => Array.from({ length: len }, () => this.random.int(0, 9)).join('');
    const trackingNumber =
      carrier.code === 'ROYAL_MAIL' ? `TT${n(9)}GB` : carrier.code === 'COLISSIMO' ? `6A${n(11)}` : n(14);
    return { carrierCode: carrier.code, trackingNumber };
  }

  private newOrder(market: Market, input: CreateOrderInput, relayDomain?: string): OrderRecord {
    const r = this.random;
    const profile = market.profile;
    const now = this.now();
    const created = iso(now);
    market.nextOrder += r.int(1, 40);
    const commercialId = `${profile.orderPrefix}-${market.nextOrder}`;
    const orderId = `${commercialId}-A`;
    const buyer = this.buyerFor(market, input, relayDomain);
    const country = countryByIso3(buyer.customer.shipping_address.country_iso_code) ?? profile.countries[0];
    if (!country) throw new Error(`marketplace ${profile.id} has no buyer country`);
    const lineInputs: NonNullable<CreateOrderInput['lines']> =
      input.lines ?? Array.from({ length: r.chance(0.3) ? r.int(2, 3) : 1 }, () => ({}));
    const freeShippingFrom = profile.currency === 'GBP' ? 50 : 60;
    const lines = lineInputs.map((spec, i): MiraklOrderLine => {
      const offer = spec.offerSku ? this.offerBySku(profile, spec.offerSku) : r.pick(profile.offers);
      const quantity = spec.quantity ?? (r.chance(0.2) ? r.int(2, 3) : 1);
      const unit = round2(spec.unitPrice ?? offer.unitPrice);
      const price = round2(unit * quantity);
      const shipping = i === 0 && price < freeShippingFrom ? (profile.currency === 'GBP' ? 3.95 : 4.99) : 0;
      const fee = round2((price + shipping) * profile.commissionRate);
      const feeVat = round2((fee * COMMISSION_VAT_RATE) / 100);
      const taxOf = (amount: number) => round2((amount * country.vatRate) / (100 + country.vatRate));
      const tax = (amount: number) => ({ code: country.vatCode, rate: country.vatRate, amount: taxOf(amount), tax_calculation_rule: 'PROPORTIONAL_TO_AMOUNT' as const });
      const imageId = `${offer.productSku.slice(-6)}-${i}`;
      return {
        order_line_id: `${orderId}-${i + 1}`,
        order_line_index: i + 1,
        order_line_state: input.state ?? 'WAITING_ACCEPTANCE',
        offer_id: offer.offerId,
        offer_sku: offer.sku,
        offer_state_code: '11',
        product_sku: offer.productSku,
        product_shop_sku: offer.sku,
        product_title: offer.title,
        description: offer.description,
        category_code: offer.categoryCode,
        category_label: offer.categoryLabel,
        product_medias: [
          { media_url: `/media/product/image/${imageId}-small.jpg`, mime_type: 'JPEG', type: 'SMALL' },
          { media_url: `/media/product/image/${imageId}-large.jpg`, mime_type: 'JPEG', type: 'LARGE' },
        ],
        quantity,
        price_unit: unit,
        origin_unit_price: unit,
        price,
        shipping_price: shipping,
        total_price: round2(price + shipping),
        taxes: [tax(price)],
        shipping_taxes: [tax(shipping)],
        commission_fee: fee,
        commission_rate_vat: COMMISSION_VAT_RATE,
        commission_vat: feeVat,
        commission_taxes: [{ code: 'OPERATOR_VAT', rate: COMMISSION_VAT_RATE, amount: feeVat }],
        total_commission: round2(fee + feeVat),
        can_refund: false,
        refunds: [],
        cancelations: [],
        order_line_additional_fields: [],
        created_date: created,
        last_updated_date: created,
      };
    });
    const channel =
      input.channelCode === null
        ? undefined
        : input.channelCode
          ? profile.channels.find((c) => c.code === input.channelCode)
          : r.pick(profile.channels);
    if (input.channelCode && !channel) throw new MiraklWorldError('ORDER_INVALID_STATE', `unknown channel ${input.channelCode}`);
    const leadtime = r.int(1, 3);
    const express = r.chance(0.2);
    const paymentType = r.pick(profile.paymentTypes);
    const order: MiraklOrder = {
      order_id: orderId,
      commercial_id: commercialId,
      references: { order_reference_for_customer: commercialId },
      order_state: input.state ?? 'WAITING_ACCEPTANCE',
      created_date: created,
      last_updated_date: created,
      shipping_deadline: iso(new Date(now.getTime() + leadtime * 24 * HOUR)),
      delivery_date: {
        earliest: iso(new Date(now.getTime() + (leadtime + 1) * 24 * HOUR)),
        latest: iso(new Date(now.getTime() + (leadtime + (express ? 1 : 4)) * 24 * HOUR)),
      },
      leadtime_to_ship: leadtime,
      ...(channel ? { channel: { ...channel } } : {}),
      currency_iso_code: profile.currency,
      order_tax_mode: 'TAX_INCLUDED',
      price: sum(lines.map((l) => l.price)),
      shipping_price: sum(lines.map((l) => l.shipping_price)),
      total_price: sum(lines.map((l) => l.total_price)),
      total_commission: sum(lines.map((l) => l.total_commission)),
      payment_workflow: input.paymentWorkflow ?? 'PAY_ON_ACCEPTANCE',
      payment_type: paymentType,
      paymentType,
      customer_directly_pays_seller: false,
      can_cancel: false,
      can_shop_ship: false,
      has_incident: false,
      has_customer_message: r.chance(0.1),
      has_invoice: false,
      fully_refunded: false,
      customer_notification_email: buyer.relayEmail,
      customer: structuredClone(buyer.customer),
      shipping_type_code: express ? 'EXP' : 'STD',
      shipping_type_label: express ? 'Express delivery' : 'Standard delivery',
      shipping_zone_code: country.zone.code,
      shipping_zone_label: country.zone.label,
      fulfillment: { center: { code: 'DEFAULT' } },
      order_additional_fields: [],
      order_lines: lines,
    };
    const record: OrderRecord = {
      order,
      acceptanceDeadline: now.getTime() + this.acceptanceWindowHours * HOUR,
      beforeIncident: new Map(),
    };
    market.records.set(orderId, record);
    this.refresh(record);
    return record;
  }

  private buyerFor(market: Market, input: CreateOrderInput, relayDomain?: string): Buyer {
    const r = this.random;
    if (input.customerId) {
      const known = market.buyers.find((b) => b.customer.customer_id === input.customerId);
      if (known) return known;
    } else if (market.buyers.length > 3 && r.chance(0.25)) {
      return r.pick(market.buyers);
    }
    const profile = market.profile;
    const country = (input.countryIso3 && countryByIso3(input.countryIso3)) || r.pick(profile.countries);
    const firstname = r.pick(country.firstNames);
    const lastname = r.pick(country.lastNames);
    const civility = r.pick(country.civilities);
    const place = r.pick(country.places);
    const address = {
      civility,
      firstname,
      lastname,
      street_1: `${r.int(1, 220)} ${r.pick(place.streets)}`,
      ...(r.chance(0.25) ? { street_2: `Flat ${r.int(1, 30)}` } : {}),
      zip_code: r.pick(place.zips),
      city: place.city,
      ...(place.state ? { state: place.state } : {}),
      country: country.name,
      country_iso_code: country.iso3,
      phone: country.phone(r),
    };
    const domain = relayDomain ?? r.pick(profile.relayDomains);
    const relayEmail =
      domain === 'notification.mirakl.net'
        ? `notification+${r.token(25)}.${r.token(9)}@${domain}`
        : `${r.token(16)}@${domain}`;
    const customerId =
      input.customerId ?? (profile.id === 'decathlon' ? r.uuid() : `C${r.int(10_000_000, 99_999_999)}`);
    const buyer: Buyer = {
      customer: {
        customer_id: customerId,
        civility,
        firstname,
        lastname,
        locale: country.locale,
        billing_address: { ...address },
        shipping_address: { ...address },
      },
      relayEmail,
    };
    market.buyers.push(buyer);
    return buyer;
  }

  private offerBySku(profile: MarketplaceProfile, sku: string): SandboxOffer {
    const offer = profile.offers.find((o) => o.sku === sku);
    if (offer) return offer;
    // An offer the sandbox catalogue lacks still makes a plausible line: tests use it for unknown SKUs.
    return {
      offerId: 90_000 + profile.offers.length,
      sku,
      productSku: `MKP${sku.replace(/[^0-9]/g, '').padStart(12, '0').slice(-12)}`,
      title: `Offer ${sku}`,
      description: 'Offer not in the sandbox catalogue.',
      categoryCode: 'MISC',
      categoryLabel: 'Miscellaneous',
      unitPrice: 19.99,
      quantity: 0,
    };
  }

  private addCancelation(market: Market, line: MiraklOrderLine, quantity: number, reasonCode: string): MiraklCancelation {
    const now = iso(this.now());
    const amount = round2(line.price_unit * quantity);
    const shippingAmount = remainingQuantity(line) === quantity ? round2(line.shipping_price - sum(line.cancelations.map((c) => c.shipping_amount))) : 0;
    const commission = round2(line.commission_fee * ((amount + shippingAmount) / (line.price + line.shipping_price || 1)));
    const commissionTax = round2((commission * COMMISSION_VAT_RATE) / 100);
    const tax = line.taxes[0];
    const cancelation: MiraklCancelation = {
      id: String(market.nextCancelation++),
      amount,
      shipping_amount: shippingAmount,
      quantity,
      reason_code: reasonCode,
      commission_amount: commission,
      commission_taxes: [{ code: 'OPERATOR_VAT', amount: commissionTax }],
      commission_total_amount: round2(commission + commissionTax),
      taxes: tax ? [{ code: tax.code, rate: tax.rate, amount: round2((amount * tax.rate) / (100 + tax.rate)) }] : [],
      created_date: now,
    };
    line.cancelations.push(cancelation);
    line.last_updated_date = now;
    return cancelation;
  }

  private setAll(record: OrderRecord, state: string, lineFilter: (line: MiraklOrderLine) => boolean = () => true): void {
    const now = iso(this.now());
    for (const line of record.order.order_lines) {
      if (!lineFilter(line)) continue;
      line.order_line_state = state;
      line.last_updated_date = now;
    }
    record.order.order_state = state;
    this.touch(record);
  }

  private setLines(record: OrderRecord, from: string[], to: string): void {
    const now = iso(this.now());
    for (const line of record.order.order_lines) {
      if (from.includes(line.order_line_state)) {
        line.order_line_state = to;
        line.last_updated_date = now;
      }
    }
  }

  private touch(record: OrderRecord): void {
    record.order.last_updated_date = iso(this.now());
    this.refresh(record);
  }

  /** Derived flags follow the states so no mutation can leave them inconsistent. */
  private refresh(record: OrderRecord): void {
    const order = record.order;
    order.can_shop_ship = order.order_state === 'SHIPPING';
    order.can_cancel = order.order_state === 'SHIPPING';
    order.has_incident = order.order_lines.some((l) => l.order_line_state === 'INCIDENT_OPEN');
    for (const line of order.order_lines) {
      line.can_refund =
        Boolean(line.debited_date) &&
        REFUNDABLE_LINE_STATES.has(line.order_line_state) &&
        sum(line.refunds.map((r) => r.amount)) < line.price;
    }
    const billable = order.order_lines.filter((l) => l.order_line_state !== 'CANCELED' && l.order_line_state !== 'REFUSED');
    order.fully_refunded = billable.length > 0 && billable.every((l) => l.order_line_state === 'REFUNDED');
  }

  private expectState(record: OrderRecord, states: string[]): void {
    if (!states.includes(record.order.order_state)) {
      throw new MiraklWorldError(
        'ORDER_INVALID_STATE',
        `order ${record.order.order_id} is ${record.order.order_state}, expected ${states.join(' or ')}`,
      );
    }
  }

  private at<T>(date: Date, fn: () => T): T {
    const previous = this.timeOverride;
    this.timeOverride = date;
    try {
      return fn();
    } finally {
      this.timeOverride = previous;
    }
  }

  private market(mp: string): Market {
    const market = this.markets.get(mp);
    if (!market) throw new MiraklWorldError('MARKETPLACE_NOT_FOUND', `unknown marketplace ${mp}`);
    return market;
  }

  private record(mp: string, orderId: string): OrderRecord {
    const record = this.market(mp).records.get(orderId);
    if (!record) throw new MiraklWorldError('ORDER_NOT_FOUND', `order ${orderId} not found`);
    return record;
  }

  private line(record: OrderRecord, lineId: string): MiraklOrderLine {
    const line = record.order.order_lines.find((l) => l.order_line_id === lineId);
    if (!line) throw new MiraklWorldError('ORDER_LINE_NOT_FOUND', `line ${lineId} not found on order ${record.order.order_id}`);
    return line;
  }
}

function remainingQuantity(line: MiraklOrderLine): number {
  return line.quantity - line.cancelations.reduce((n, c) => n + c.quantity, 0);
}

/** An address with nothing left that identifies a person: its country only. */
function anonymousAddress(address: MiraklAddress): MiraklAddress {
  return { firstname: '', lastname: '', street_1: '', zip_code: '', city: '', country: address.country, country_iso_code: address.country_iso_code };
}

export function byCreatedThenId(a: Readonly<MiraklOrder>, b: Readonly<MiraklOrder>): number {
  if (a.created_date !== b.created_date) return a.created_date < b.created_date ? -1 : 1;
  return a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : 0;
}

const INCIDENT_REASONS: Record<string, string> = {
  '16': 'Item not received',
  '17': 'Item damaged',
  '18': 'Item does not match the description',
};

interface HistoryStep {
  /** Hours after the previous step (or the order's creation). */
  after: number;
  do:
    | 'accept'
    | 'acceptFirstOnly'
    | 'refuse'
    | 'autoRefuse'
    | 'requestDebit'
    | 'debit'
    | 'ship'
    | 'receive'
    | 'close'
    | 'cancel'
    | 'cancelLastLineOne'
    | 'refundPartial'
    | 'refundLastLineFull'
    | 'confirmRefunds'
    | 'openIncident'
    | 'closeIncident';
}

interface HistoryScenario {
  ageHours: number;
  lines?: number;
  /** Quantity of every line; partial cancellations need more than one. */
  quantity?: number;
  staging?: boolean;
  unmapped?: boolean;
  noChannel?: boolean;
  steps?: HistoryStep[];
}

const paid = (acceptAfter = 0.5): HistoryStep[] => [
  { after: acceptAfter, do: 'accept' },
  { after: 0.2, do: 'requestDebit' },
  { after: 0.3, do: 'debit' },
];
const shipped = (acceptAfter?: number): HistoryStep[] => [...paid(acceptAfter), { after: 6, do: 'ship' }];
const received = (acceptAfter?: number): HistoryStep[] => [...shipped(acceptAfter), { after: 18, do: 'receive' }];

/** The seeded history: one scenario per order, oldest states oldest. */
const HISTORY: HistoryScenario[] = [
  { ageHours: 0.2, staging: true },
  { ageHours: 0.1, staging: true, lines: 2 },
  { ageHours: 1.5 },
  { ageHours: 3, lines: 3 },
  { ageHours: 5, unmapped: true },
  { ageHours: 7, noChannel: true },
  { ageHours: 6, steps: [{ after: 1, do: 'accept' }] },
  { ageHours: 9, steps: [{ after: 0.5, do: 'accept' }, { after: 0.2, do: 'requestDebit' }] },
  // Unpaid: the debit was requested but the payment never came.
  { ageHours: 30, lines: 2, steps: [{ after: 1, do: 'accept' }, { after: 0.2, do: 'requestDebit' }] },
  { ageHours: 10, steps: paid() },
  { ageHours: 12, lines: 2, steps: paid(1) },
  { ageHours: 14, lines: 2, quantity: 2, steps: [...paid(), { after: 2, do: 'cancelLastLineOne' }] },
  { ageHours: 16, unmapped: true, steps: paid(2) },
  { ageHours: 11, lines: 2, steps: [{ after: 0.5, do: 'acceptFirstOnly' }, { after: 0.2, do: 'requestDebit' }, { after: 0.3, do: 'debit' }] },
  { ageHours: 18, steps: shipped() },
  { ageHours: 20, lines: 2, steps: shipped() },
  { ageHours: 22, steps: [...shipped(), { after: 3, do: 'openIncident' }] },
  { ageHours: 24, unmapped: true, steps: shipped(1) },
  { ageHours: 30, steps: received() },
  { ageHours: 32, lines: 2, steps: [...received(), { after: 1, do: 'refundPartial' }] },
  { ageHours: 34, steps: [...received(), { after: 1, do: 'refundPartial' }, { after: 2, do: 'confirmRefunds' }] },
  { ageHours: 36, steps: [...received(), { after: 1, do: 'openIncident' }, { after: 3, do: 'closeIncident' }] },
  { ageHours: 38, lines: 2, steps: [...received(), { after: 2, do: 'openIncident' }] },
  { ageHours: 40, steps: [...received(), { after: 6, do: 'close' }] },
  { ageHours: 44, lines: 2, steps: [...received(), { after: 2, do: 'refundLastLineFull' }, { after: 1, do: 'confirmRefunds' }, { after: 4, do: 'close' }] },
  { ageHours: 47, lines: 3, steps: [...received(), { after: 10, do: 'close' }] },
  { ageHours: 26, steps: [{ after: 2, do: 'refuse' }] },
  { ageHours: 46, steps: [{ after: 24, do: 'autoRefuse' }] },
  { ageHours: 20, steps: [{ after: 1, do: 'cancel' }] },
  { ageHours: 28, lines: 2, steps: [...paid(), { after: 3, do: 'cancel' }] },
];
