/**
 * Mirakl answers a write on an order that has moved on (accepted by a person in the back office, auto-refused,
 * already shipped by our own earlier attempt whose answer was lost) with 400 and the error code
 * ORDER_INVALID_STATE. For OR21 and OR24 that means there is nothing left to do, not a failure to retry.
 */
import { HttpError } from '../http';

export function isOrderStateConflict(error: unknown): boolean {
  return error instanceof HttpError && error.status === 400 && (error.bodySnippet ?? '').includes('ORDER_INVALID_STATE');
}
