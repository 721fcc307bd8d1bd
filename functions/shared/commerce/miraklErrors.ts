/**
 * Mirakl answers a write on an order that has moved on (accepted by a person in the back office, auto-refused,
 * already shipped by our own earlier attempt whose answer was lost) with 400 and the error code
 * ORDER_INVALID_STATE. For OR21 and OR24 that means there is nothing left to do, not a failure to retry.
 */
import { HttpError } from '../http';
import { ShipmentRejected } from './miraklRequests';

export function isOrderStateConflict(error: unknown): boolean {
  return error instanceof HttpError && error.status === 400 && (error.bodySnippet ?? '').includes('ORDER_INVALID_STATE');
}

/** States an order reaches once shipped: ST01 names them when the order is no longer SHIPPING. */
const SHIPPED_ALREADY = /must be 'SHIPPING' but it is '(SHIPPED|TO_COLLECT|RECEIVED|CLOSED)'/;

/**
 * ST01 refused every shipment because its order is already shipped, as when our earlier attempt's answer was
 * lost: nothing is left to do. Refusals for any other reason (a cancelled order, a bad line) still fail.
 */
export function isShippedAlready(error: unknown): boolean {
  return error instanceof ShipmentRejected && error.reasons.length > 0 && error.reasons.every((reason) => SHIPPED_ALREADY.test(reason));
}
