/**
 * Erasing a marketplace buyer: the erasure event every destination connector consumes, and how an OR11 order
 * tells us Mirakl anonymised its buyer.
 *
 * How anonymisation shows in OR11 (our decision; Mirakl documents the operator's AN01 anonymisation but not what
 * the seller API returns afterwards): the order keeps `customer.customer_id` while every personal field is gone —
 * no first or last name, no shipping or billing address with a street, city or postcode, no relay e-mail. A live
 * order always has at least a name and an address to ship to, so this does not fire on ordinary orders. An
 * explicit flag is honoured too where an instance sends one (`customer.anonymized: true`, or
 * `customer.anonymized_date` / order `anonymized_at`, the field Mirakl Connect uses).
 */
import { type BusinessEvent, businessEvent, eventIds } from '../events';

export type ErasureReason = 'request' | 'mirakl-anonymised';

export function erasureEvent(
  marketplace: string,
  customerId: string,
  reason: ErasureReason,
  occurredAt: string,
): BusinessEvent<'Customer Erasure Requested'> {
  return businessEvent('Customer Erasure Requested', {
    schemaVersion: 1,
    eventId: eventIds.erasure(marketplace, customerId),
    marketplace,
    occurredAt,
    customerId,
    identity: eventIds.buyerIdentity(marketplace, customerId),
    reason,
  });
}

export function isErasure(event: BusinessEvent): event is BusinessEvent<'Customer Erasure Requested'> {
  return event.detailType === 'Customer Erasure Requested';
}

type Raw = Record<string, unknown> | null | undefined;

const blank = (value: unknown) => value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

function addressGone(address: unknown): boolean {
  if (address === undefined || address === null) return true;
  const a = address as Record<string, unknown>;
  return ['street_1', 'street_2', 'city', 'zip_code', 'lastname', 'firstname', 'phone'].every((field) => blank(a[field]));
}

/** True when the raw OR11 order shows a buyer Mirakl has anonymised (see the module comment). */
export function isAnonymisedBuyer(raw: unknown): boolean {
  if (raw === null || typeof raw !== 'object') return false;
  const order = raw as Record<string, unknown>;
  const customer = order.customer as Raw;
  if (!customer || blank(customer.customer_id)) return false;
  if (customer.anonymized === true || !blank(customer.anonymized_date) || !blank(order.anonymized_at)) return true;
  return (
    blank(customer.firstname) &&
    blank(customer.lastname) &&
    addressGone(customer.shipping_address) &&
    addressGone(customer.billing_address) &&
    blank(order.customer_notification_email)
  );
}
