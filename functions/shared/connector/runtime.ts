/**
 * The runtime every connector Lambda shares: an SQS batch of EventBridge events in, a partial batch response out.
 *
 * - Each record is parsed (Powertools EventBridge schema, then the shared business-event schemas) before any
 *   connector code runs.
 * - Each record is idempotent on its deterministic event id (`detail.eventId`), never the SQS message id, which
 *   changes on redrive. A crash after the downstream call leaves the record INPROGRESS until the Lambda's remaining
 *   time has passed, then the retry runs again and the destination's own dedup key (Klaviyo `unique_id`) absorbs it;
 *   where there is none (SFMC journey entries), the connector's own ledger keeps the call from being made twice.
 * - Retryable failures go back to the queue; permanent ones, and retryable ones on the last receive, become
 *   exceptions. Every failure is reported for its own record only, so the message reaches the DLQ after the receive
 *   budget while the rest of the batch is deleted.
 * - Backlogs and history loads can be delivered with one bulk call per batch (see BulkWindow).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ZodError } from 'zod';
import type { ConsumerName } from '../routes';
import { type BusinessEvent, EventEnvelopeSchema, SOURCE_PRIVACY, parseBusinessEvent } from '../events';
import type { ExceptionInput, ExceptionRecorder } from '../exceptions';
import type { AttemptEvent } from '../http';
import { BulkWindow } from './bulkWindow';
import { PermanentError, classify } from './failures';

/** The DLQ redrive policy's maxReceiveCount; AWS recommends at least 5 so throttles do not dead-letter early. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;
export const MAX_RECEIVE_COUNT_ENV = 'CONNECTOR_MAX_RECEIVE_COUNT';
/** Longer than the DLQ retention (14 days): a redriven twin of an event already delivered is still recognised. */
export const IDEMPOTENCY_TTL_SECONDS = 15 * 24 * 3600;
/** Where a connector's delivery record is: reconciliation reads the same records to see what was delivered. */
export const IDEMPOTENCY_KEY_PATH = 'detail.eventId';
export const idempotencyKeyPrefix = (name: ConsumerName) => `connector-${name}`;

export const CONNECTOR_METRICS = {
  delivered: 'Delivered',
  /** Already delivered (duplicate delivery, redrive): nothing sent. */
  duplicate: 'Duplicate',
  retried: 'Retried',
  rateLimited: 'RateLimited',
  failed: 'Failed',
} as const;

export interface Connector {
  /** Delivers one event with single calls; throws to fail the record. */
  deliverOne(event: BusinessEvent): Promise<void>;
  /** Delivers several events with bulk calls; all succeed or the call throws. */
  deliverMany?(events: BusinessEvent[]): Promise<void>;
  /** Whether this batch is a backlog or a history load that bulk calls serve better. */
  prefersBulk?(events: readonly BusinessEvent[]): boolean;
}

/** A connector's bulk setting: `always`, `never`, or `auto` (backlogs of `bulkMinRecords` and history loads). */
export function prefersBulkWith(settings: { bulk: 'auto' | 'always' | 'never'; bulkMinRecords: number }) {
  return (events: readonly BusinessEvent[]): boolean =>
    settings.bulk === 'always' ||
    (settings.bulk === 'auto' && (events.length >= settings.bulkMinRecords || events.some((e) => e.detail.backfill)));
}

export interface ConnectorRuntimeOptions {
  name: ConsumerName;
  connector: Connector;
  persistenceStore: BasePersistenceLayer;
  exceptions: ExceptionRecorder;
  logger: Logger;
  metrics: Metrics;
  maxReceiveCount?: number;
}

export type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

type Parsed = { ok: true; event: BusinessEvent } | { ok: false; error: PermanentError; marketplace?: string };

/** SQS body → EventBridge envelope → business event; anything else is a permanent failure with a clear reason. */
export function parseRecord(record: SQSRecord): Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(record.body);
  } catch {
    return { ok: false, error: new PermanentError('invalid event: the message body is not JSON') };
  }
  const marketplace = (raw as { detail?: { marketplace?: unknown } } | null)?.detail?.marketplace;
  const known = typeof marketplace === 'string' ? marketplace : undefined;
  const envelope = EventEnvelopeSchema.safeParse(raw);
  if (!envelope.success) {
    const fields = [...new Set(envelope.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    return { ok: false, marketplace: known, error: new PermanentError(`invalid EventBridge envelope (${fields})`) };
  }
  try {
    return { ok: true, event: parseBusinessEvent(envelope.data) };
  } catch (error) {
    // Zod issues name fields; parseBusinessEvent's own errors name the detail-type or source: no record data.
    const reason = error instanceof ZodError ? classify(error).reason : `invalid event: ${(error as Error).message}`;
    return { ok: false, marketplace: known, error: new PermanentError(reason) };
  }
}

/** The reference users search the inbox by: the Mirakl order id where there is one. */
function recordRef(event: BusinessEvent): string {
  const detail = event.detail as { order?: { orderId: string }; orderId?: string };
  return detail.order?.orderId ?? detail.orderId ?? event.id;
}

/** Counts 429 responses as they happen, including those the HTTP layer retried successfully. */
export function rateLimitObserver(metrics: Metrics): (attempt: AttemptEvent) => void {
  return (attempt) => {
    if (attempt.rateLimited) metrics.addMetric(CONNECTOR_METRICS.rateLimited, MetricUnit.Count, 1);
  };
}

export function createBatchHandler(options: ConnectorRuntimeOptions): BatchHandler {
  const { name, connector, logger, metrics } = options;
  const maxReceiveCount = options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const idempotencyConfig = new IdempotencyConfig({
    eventKeyJmesPath: IDEMPOTENCY_KEY_PATH,
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
  });
  // Only the event (argument 0) is hashed; `deliver` says how, and differs between single and bulk batches.
  const deliverIdempotently = makeIdempotent(
    async (event: BusinessEvent, deliver: (event: BusinessEvent) => Promise<void>) => {
      await deliver(event);
      return { deliveredAt: new Date().toISOString() };
    },
    { persistenceStore: options.persistenceStore, config: idempotencyConfig, keyPrefix: idempotencyKeyPrefix(name) },
  );
  const count = (metric: string) => metrics.addMetric(metric, MetricUnit.Count, 1);

  async function recordException(input: Omit<ExceptionInput, 'component'>): Promise<void> {
    try {
      await options.exceptions.record({ ...input, component: name });
    } catch (error) {
      // The record fails and stays on its way to the DLQ either way; the DLQ alarm still reports it.
      logger.error('could not record exception', { payloadRef: input.payloadRef, error: classify(error).reason });
    }
  }

  async function onFailure(record: SQSRecord, parsed: Parsed, error: unknown): Promise<void> {
    const failure = classify(error);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const keys = {
      messageId: record.messageId,
      receiveCount,
      ...(parsed.ok
        ? { eventId: parsed.event.id, detailType: parsed.event.detailType, marketplace: parsed.event.detail.marketplace }
        : {}),
      reason: failure.reason,
    };
    const givingUp = !failure.retryable || receiveCount >= maxReceiveCount;
    if (!givingUp) {
      count(CONNECTOR_METRICS.retried);
      logger.warn('delivery failed, will retry', keys);
      return;
    }
    count(CONNECTOR_METRICS.failed);
    logger.error('delivery failed, record goes to the DLQ after its receive budget', keys);
    const reason = failure.retryable ? `gave up after ${receiveCount} receives: ${failure.reason}` : failure.reason;
    await recordException(
      parsed.ok
        ? {
            type: failure.exceptionType ?? 'delivery.failed',
            marketplace: parsed.event.detail.marketplace,
            ref: recordRef(parsed.event),
            reason,
            payloadRef: parsed.event.id,
            events: [parsed.event],
          }
        : {
            type: 'event.invalid',
            marketplace: parsed.marketplace ?? 'unknown',
            ref: record.messageId,
            reason,
            payloadRef: `sqs:${record.messageId}`,
          },
    );
  }

  return async (event, context) => {
    idempotencyConfig.registerLambdaContext(context);
    const parsed = new Map(event.Records.map((record) => [record.messageId, parseRecord(record)] as const));
    const valid = [...parsed].flatMap(([id, p]) => (p.ok ? [[id, p.event] as const] : []));
    const bulk =
      connector.deliverMany && connector.prefersBulk?.(valid.map(([, e]) => e))
        ? new BulkWindow(new Set(valid.map(([id]) => id)), {
            deliverMany: connector.deliverMany.bind(connector),
            deliverOne: connector.deliverOne.bind(connector),
          })
        : undefined;

    const handleRecord = async (record: SQSRecord): Promise<void> => {
      const entry = parsed.get(record.messageId) as Parsed;
      try {
        if (!entry.ok) throw entry.error;
        // A history load aimed at other connectors (`marketbridge backfill --connectors`): nothing to do here.
        if (entry.event.detail.connectors && !(entry.event.detail.connectors as readonly string[]).includes(name)) return;
        let sent = false;
        const deliver = (e: BusinessEvent) => {
          sent = true;
          // An erasure has no bulk form: it goes alone, and settles its place in the bulk window (finally, below).
          return bulk && e.source !== SOURCE_PRIVACY ? bulk.submit(record.messageId, e) : connector.deliverOne(e);
        };
        await deliverIdempotently(entry.event, deliver);
        count(sent ? CONNECTOR_METRICS.delivered : CONNECTOR_METRICS.duplicate);
        logger.info(sent ? 'delivered' : 'already delivered, skipped', {
          eventId: entry.event.id,
          detailType: entry.event.detailType,
          marketplace: entry.event.detail.marketplace,
          mode: bulk ? 'bulk' : 'single',
        });
      } catch (error) {
        await onFailure(record, entry, error);
        throw error;
      } finally {
        bulk?.settle(record.messageId);
      }
    };
    // A processor per invocation: it holds the batch's results, and the local runtime runs one handler module
    // for several concurrent invocations (Lambda gives each its own environment).
    return processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), { context });
  };
}
