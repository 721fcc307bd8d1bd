/**
 * Record-level exceptions: every record that could not be mapped or delivered, with the team that owns the fix.
 * Repeated failures of the same record update one entry (deterministic id), so counts mean something.
 */
import type { BusinessEvent } from './events';

export type OwningTeam = 'ecommerce' | 'marketing' | 'finance' | 'operations';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** The catalogue of exception types: who owns each, and how urgent it is. */
export const EXCEPTION_TYPES = {
  'order.malformed': { owner: 'operations', severity: 'high', what: 'A Mirakl order lacks fields we need' },
  'identity.missing': { owner: 'ecommerce', severity: 'medium', what: 'A buyer has no usable identity' },
  'delivery.failed': { owner: 'operations', severity: 'high', what: 'A destination rejected a record' },
  'sku.unmapped': { owner: 'ecommerce', severity: 'high', what: 'An offer SKU has no SFCC product' },
  'stock.insufficient': { owner: 'ecommerce', severity: 'medium', what: 'Stock does not cover an order' },
  'stock.import-error': { owner: 'ecommerce', severity: 'medium', what: 'Mirakl rejected a stock line' },
  'carrier.unknown': { owner: 'operations', severity: 'high', what: 'A carrier has no Mirakl code' },
  'acceptance.deadline-at-risk': { owner: 'ecommerce', severity: 'critical', what: 'An order may be auto-refused' },
  'reconciliation.missing': { owner: 'operations', severity: 'high', what: 'An order is missing downstream' },
  'event.invalid': { owner: 'operations', severity: 'high', what: 'A message on a queue is not a valid event' },
  'journey.entry-uncertain': { owner: 'marketing', severity: 'medium', what: 'An SFMC journey entry may have happened' },
  'enrolment.uncertain': { owner: 'marketing', severity: 'medium', what: 'A Dotdigital programme enrolment may have happened' },
  'enrolment.refused': { owner: 'marketing', severity: 'medium', what: 'Dotdigital refused a programme enrolment' },
} as const satisfies Record<string, { owner: OwningTeam; severity: Severity; what: string }>;
export type ExceptionType = keyof typeof EXCEPTION_TYPES;

export interface ExceptionInput {
  type: ExceptionType;
  marketplace: string;
  /** The record reference users search by: a Mirakl order id, an SKU, a carrier name. */
  ref: string;
  /** What went wrong and what to do; never personal data. */
  reason: string;
  /** Where the failed payload is (an event id, a DLQ), so it can be retried. */
  payloadRef?: string;
  /**
   * The failed events themselves, kept on the inbox entry (in the brand's own account) so that
   * `exceptions retry` can put them back on the bus: the SQS message is gone once it leaves the DLQ.
   */
  events?: readonly BusinessEvent[];
  /** Component that recorded it: `poller`, `webhook`, a connector name. */
  component: string;
}

export function exceptionId(input: Pick<ExceptionInput, 'type' | 'marketplace' | 'ref' | 'component'>): string {
  return `${input.type}#${input.marketplace}#${input.component}#${input.ref}`;
}

export interface ExceptionRecorder {
  record(exception: ExceptionInput): Promise<void>;
}
