/**
 * OR11 `GET /api/orders`: parameter checking, filtering and offset paging as Mirakl documents them. The parameter
 * rules restate the seller OpenAPI's OR11 parameters plus the paging ones from Mirakl's General Notes; the
 * contract tests check the sandbox against the vendor document, so this module stays spec-file independent.
 * `order_tax_mode` and `locale` are checked but do not change the answer: the sandbox platform prices orders
 * TAX_INCLUDED (each order says so in `order_tax_mode`) and has one language.
 */
import { KNOWN_ORDER_STATES } from '../../../functions/shared/mirakl/orders';
import type { MiraklOrder } from './types';
import { byCreatedThenId } from './world';

/** Mirakl subtracts a delta from `start_update_date` "to ensure no orders are missed"; clients see re-deliveries. */
export const UPDATE_DATE_DELTA_MS = 60_000;
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;
/** Mirakl rejects id lists over 100 values (seen for `commercial_ids`; assumed for `order_ids`). */
export const MAX_LIST_VALUES = 100;

export class BadRequest extends Error {}

export interface Or11Query {
  orderIds?: Set<string>;
  referencesForCustomer?: Set<string>;
  referencesForSeller?: Set<string>;
  states?: Set<string>;
  channelCodes?: Set<string>;
  onlyNullChannel: boolean;
  startDate?: number;
  endDate?: number;
  startUpdateDate?: number;
  endUpdateDate?: number;
  customerDebited?: boolean;
  paymentWorkflow?: string;
  hasIncident?: boolean;
  fulfillmentCenters?: Set<string>;
  max: number;
  offset: number;
  descending: boolean;
}

const PAYMENT_WORKFLOWS = ['PAY_ON_ACCEPTANCE', 'PAY_ON_DELIVERY', 'PAY_ON_DUE_DATE', 'PAY_ON_SHIPMENT', 'NO_CUSTOMER_PAYMENT_CONFIRMATION'];
/** `YYYY-MM-DDThh:mm:ss[.SSS]±hh:mm` or `Z` (General Notes); an unencoded `+` arrives as a space and fails. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function list(params: URLSearchParams, name: string, allowed?: readonly string[]): Set<string> | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const values = raw.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  if (values.length > MAX_LIST_VALUES) {
    throw new BadRequest(`The limit of ${MAX_LIST_VALUES} is exceeded for the parameter : ${name}`);
  }
  if (allowed) {
    const unknown = values.find((v) => !allowed.includes(v));
    if (unknown !== undefined) throw new BadRequest(`Invalid value '${unknown}' for parameter ${name}`);
  }
  return new Set(values);
}

function date(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const parsed = DATE_TIME.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(parsed)) {
    throw new BadRequest(`Invalid date '${raw}' for parameter ${name}, expected format yyyy-MM-ddTHH:mm:ss[.SSS]Z or ±hh:mm`);
  }
  return parsed;
}

function bool(params: URLSearchParams, name: string): boolean | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new BadRequest(`Invalid boolean '${raw}' for parameter ${name}`);
  return raw === 'true';
}

function integer(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new BadRequest(`Invalid value '${raw}' for parameter ${name}, expected an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

export function parseOr11Query(params: URLSearchParams): Or11Query {
  const paymentWorkflow = params.get('payment_workflow') ?? undefined;
  if (paymentWorkflow !== undefined && !PAYMENT_WORKFLOWS.includes(paymentWorkflow)) {
    throw new BadRequest(`Invalid value '${paymentWorkflow}' for parameter payment_workflow`);
  }
  const taxMode = params.get('order_tax_mode');
  if (taxMode !== null && taxMode !== 'TAX_INCLUDED' && taxMode !== 'TAX_EXCLUDED') {
    throw new BadRequest(`Invalid value '${taxMode}' for parameter order_tax_mode`);
  }
  const sort = params.get('sort');
  if (sort !== null && sort !== 'dateCreated') throw new BadRequest(`Invalid sort '${sort}', allowed: dateCreated`);
  const order = params.get('order');
  if (order !== null && order !== 'asc' && order !== 'desc') throw new BadRequest(`Invalid order '${order}', allowed: asc, desc`);
  const centers = params.getAll('fulfillment_center_code').flatMap((v) => v.split(','));
  return {
    orderIds: list(params, 'order_ids'),
    referencesForCustomer: list(params, 'order_references_for_customer'),
    referencesForSeller: list(params, 'order_references_for_seller'),
    states: list(params, 'order_state_codes', KNOWN_ORDER_STATES),
    channelCodes: list(params, 'channel_codes'),
    onlyNullChannel: bool(params, 'only_null_channel') ?? false,
    startDate: date(params, 'start_date'),
    endDate: date(params, 'end_date'),
    startUpdateDate: date(params, 'start_update_date'),
    endUpdateDate: date(params, 'end_update_date'),
    customerDebited: bool(params, 'customer_debited'),
    paymentWorkflow,
    hasIncident: bool(params, 'has_incident'),
    fulfillmentCenters: centers.length > 0 ? new Set(centers) : undefined,
    max: integer(params, 'max', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    offset: integer(params, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    descending: order === 'desc',
  };
}

function matches(order: Readonly<MiraklOrder>, q: Or11Query): boolean {
  const created = Date.parse(order.created_date);
  const updated = Date.parse(order.last_updated_date);
  if (q.orderIds && !q.orderIds.has(order.order_id)) return false;
  if (q.referencesForCustomer && !q.referencesForCustomer.has(order.references.order_reference_for_customer)) return false;
  if (q.referencesForSeller && !q.referencesForSeller.has(order.references.order_reference_for_seller ?? '')) return false;
  if (q.states && !q.states.has(order.order_state)) return false;
  if (q.onlyNullChannel) {
    if (order.channel) return false;
  } else if (q.channelCodes && !(order.channel && q.channelCodes.has(order.channel.code))) return false;
  if (q.startDate !== undefined && created < q.startDate) return false;
  if (q.endDate !== undefined && created > q.endDate) return false;
  if (q.startUpdateDate !== undefined && updated < q.startUpdateDate - UPDATE_DATE_DELTA_MS) return false;
  if (q.endUpdateDate !== undefined && updated > q.endUpdateDate) return false;
  if (q.customerDebited !== undefined && Boolean(order.customer_debited_date) !== q.customerDebited) return false;
  if (q.paymentWorkflow && order.payment_workflow !== q.paymentWorkflow) return false;
  if (q.hasIncident !== undefined && order.has_incident !== q.hasIncident) return false;
  if (q.fulfillmentCenters && !q.fulfillmentCenters.has(order.fulfillment.center.code)) return false;
  return true;
}

export interface Or11Page {
  orders: Readonly<MiraklOrder>[];
  total_count: number;
}

/** Filters, sorts by creation date then order id, and cuts the requested page. */
export function listOrders(all: readonly Readonly<MiraklOrder>[], q: Or11Query): Or11Page {
  const selected = all.filter((o) => matches(o, q)).sort(byCreatedThenId);
  if (q.descending) selected.reverse();
  return { orders: selected.slice(q.offset, q.offset + q.max), total_count: selected.length };
}
