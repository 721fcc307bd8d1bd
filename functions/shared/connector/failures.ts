/**
 * The retryable/permanent split every connector shares. Retryable failures go back to the queue (SQS redelivers
 * after the visibility timeout) and become exceptions on their last receive; permanent ones become exceptions at
 * once. Reasons are free of personal data.
 */
import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { ZodError } from 'zod';
import type { ExceptionType } from '../exceptions';
import { HttpError } from '../http';

/** A failure that becomes an exception, of `exceptionType` when more specific than `delivery.failed`. */
abstract class TypedFailure extends Error {
  /** The inbox entry's type when it is more specific than `delivery.failed` (e.g. `sku.unmapped`). */
  readonly exceptionType: ExceptionType | undefined;

  constructor(message: string, options: ErrorOptions & { exceptionType?: ExceptionType } = {}) {
    super(message, options);
    this.exceptionType = options.exceptionType;
  }
}

/** A failure no retry can fix: bad data, a record the destination rejects, a mapping that cannot be made. */
export class PermanentError extends TypedFailure {
  override readonly name = 'PermanentError';
}

/**
 * A failure a redelivery may fix, saying what the record is if its receive budget runs out first (a shipment
 * whose carrier list could not be read is still a `carrier.unknown`, not a generic delivery failure).
 */
export class RetryableError extends TypedFailure {
  override readonly name: string = 'RetryableError';
}

export interface Failure {
  retryable: boolean;
  rateLimited: boolean;
  /** Safe to log and to show in the exception inbox. */
  reason: string;
  exceptionType?: ExceptionType;
}

export function classify(error: unknown): Failure {
  if (error instanceof HttpError) {
    return { retryable: error.retryable, rateLimited: error.rateLimited, reason: error.message };
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    // A twin of this record is being delivered right now (duplicate delivery): try again once it is done.
    return { retryable: true, rateLimited: false, reason: 'the same event is being delivered by another invocation' };
  }
  if (error instanceof ZodError) {
    const issues = error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { retryable: false, rateLimited: false, reason: `invalid event: ${issues.join('; ')}` };
  }
  if (error instanceof TypedFailure) {
    const typed = error.exceptionType ? { exceptionType: error.exceptionType } : {};
    return { retryable: error instanceof RetryableError, rateLimited: false, reason: error.message, ...typed };
  }
  // Anything else (DynamoDB hiccup, a bug) may pass on retry; the receive budget still bounds it.
  const name = error instanceof Error ? error.name : typeof error;
  return { retryable: true, rateLimited: false, reason: `unexpected ${name}` };
}

/** Runs a pure mapping; anything it throws is a permanent failure naming the destination (retrying cannot help). */
export function mapForDestination<T>(destination: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof PermanentError) throw error;
    throw new PermanentError(`cannot map the event for ${destination}: ${(error as Error).message}`);
  }
}
