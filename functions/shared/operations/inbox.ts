/**
 * The exception inbox as operators use it: list with filters, read one entry, resolve it with a note, and retry
 * it. Entries are written by DynamoExceptionRecorder (one per record, reopened on a repeat); this side reads them
 * through the table's status and marketplace indexes. The stored failed events never leave this module except to
 * be re-published: listings carry record references and reasons, not buyer data.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type BusinessEvent, parseBusinessEvent } from '../events';
import { EXCEPTION_TYPES, type ExceptionType, type OwningTeam, type Severity } from '../exceptions';
import type { EventPublisher, PendingOrderIds } from '../ingest/ports';

export type ExceptionStatus = 'open' | 'resolved';

export interface ExceptionEntry {
  id: string;
  type: ExceptionType;
  owner: OwningTeam;
  severity: Severity;
  marketplace: string;
  ref: string;
  reason: string;
  component: string;
  payloadRef: string | null;
  firstSeen: string;
  lastSeen: string;
  occurrences: number;
  status: ExceptionStatus;
  /** The last resolution (kept when a repeat reopens the entry, as history). */
  resolution?: { how: 'resolved' | 'retried'; at: string; note: string };
  /** How `retry` would act: re-publish the stored events, re-read the order from Mirakl, or nothing. */
  retry: 'republish' | 'reread' | 'none';
  /** The stored events were removed with the buyer's data (an erasure request). */
  payloadErased?: true;
}

export interface ExceptionFilter {
  status?: ExceptionStatus | 'all';
  type?: string;
  marketplace?: string;
  owner?: string;
  /** Most recent first; at most this many. */
  limit?: number;
}

/** The component whose exceptions a re-read through OR11 retries (records Mirakl gave us unusable). */
const INGEST_COMPONENT = 'poller';

function retryKind(item: Record<string, unknown>): ExceptionEntry['retry'] {
  if (typeof item.payload === 'string') return 'republish';
  return item.component === INGEST_COMPONENT ? 'reread' : 'none';
}

function toEntry(item: Record<string, unknown>): ExceptionEntry {
  const type = item.type as ExceptionType;
  const known = EXCEPTION_TYPES[type];
  return {
    id: String(item.id),
    type,
    owner: (item.owner as OwningTeam | undefined) ?? known?.owner ?? 'operations',
    severity: (item.severity as Severity | undefined) ?? known?.severity ?? 'medium',
    marketplace: String(item.marketplace),
    ref: String(item.ref),
    reason: String(item.reason),
    component: String(item.component),
    payloadRef: typeof item.payloadRef === 'string' ? item.payloadRef : null,
    firstSeen: String(item.firstSeen),
    lastSeen: String(item.lastSeen),
    occurrences: Number(item.occurrences ?? 1),
    status: item.status === 'resolved' ? 'resolved' : 'open',
    ...(typeof item.resolvedAt === 'string'
      ? {
          resolution: {
            how: item.resolution === 'retried' ? ('retried' as const) : ('resolved' as const),
            at: item.resolvedAt,
            note: String(item.note ?? ''),
          },
        }
      : {}),
    retry: retryKind(item),
    ...(typeof item.payloadErasedAt === 'string' ? { payloadErased: true as const } : {}),
  };
}

export class NotFoundError extends Error {
  constructor(id: string) {
    super(`no exception with id "${id}"`);
    this.name = 'NotFoundError';
  }
}

/** A retry that cannot work; the message says what to do instead. */
export class NotRetryableError extends Error {
  override readonly name = 'NotRetryableError';
}

const DEFAULT_LIMIT = 200;

export class DynamoExceptionInbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Newest first. Status and marketplace use the table's indexes; type and owner filter within them. */
  async list(filter: ExceptionFilter = {}): Promise<ExceptionEntry[]> {
    const status = filter.status ?? 'open';
    const limit = filter.limit ?? DEFAULT_LIMIT;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const conditions: string[] = [];
    const where = (attribute: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      conditions.push(`#${attribute} = :${attribute}`);
    };
    where('type', filter.type);
    where('owner', filter.owner);
    const queries: { index: string; key: string; value: string }[] = [];
    if (status === 'all' && filter.marketplace !== undefined) {
      queries.push({ index: 'byMarketplace', key: 'marketplace', value: filter.marketplace });
    } else {
      if (filter.marketplace !== undefined) where('marketplace', filter.marketplace);
      const statuses: ExceptionStatus[] = status === 'all' ? ['open', 'resolved'] : [status];
      for (const value of statuses) queries.push({ index: 'byStatus', key: 'status', value });
    }
    const found: ExceptionEntry[] = [];
    for (const query of queries) {
      let start: Record<string, unknown> | undefined;
      let taken = 0;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: query.index,
            KeyConditionExpression: '#key = :key',
            ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND ') } : {}),
            ExpressionAttributeNames: { ...names, '#key': query.key },
            ExpressionAttributeValues: { ...values, ':key': query.value },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          if (taken >= limit) break;
          found.push(toEntry(item));
          taken += 1;
        }
        start = taken < limit ? page.LastEvaluatedKey : undefined;
      } while (start);
    }
    return found.sort((a, b) => b.lastSeen.localeCompare(a.lastSeen)).slice(0, limit);
  }

  /** Open entries, counted on the status index without reading them (the open-exceptions metric). */
  async countOpen(): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byStatus',
          KeyConditionExpression: '#status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':open': 'open' },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async get(id: string): Promise<ExceptionEntry | undefined> {
    const item = await this.item(id);
    return item ? toEntry(item) : undefined;
  }

  /** The failed events stored on the entry, validated again before they go anywhere. */
  async storedEvents(id: string): Promise<BusinessEvent[]> {
    const item = await this.item(id);
    if (!item) throw new NotFoundError(id);
    if (typeof item.payload !== 'string') return [];
    const stored = JSON.parse(item.payload) as { source: string; detailType: string; detail: unknown }[];
    return stored.map((event) => parseBusinessEvent({ source: event.source, 'detail-type': event.detailType, detail: event.detail }));
  }

  /** Closes the entry with a note; a later failure of the same record reopens it. */
  async resolve(id: string, note: string, how: 'resolved' | 'retried' = 'resolved'): Promise<ExceptionEntry> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'SET #status = :resolved, resolvedAt = :at, note = :note, resolution = :how',
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':resolved': 'resolved', ':at': this.now().toISOString(), ':note': note, ':how': how },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toEntry(result.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new NotFoundError(id);
      throw error;
    }
  }

  private async item(id: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    return result.Item;
  }
}

export interface RetryDeps {
  inbox: Pick<DynamoExceptionInbox, 'get' | 'storedEvents' | 'resolve'>;
  publisher: EventPublisher;
  pending: Pick<PendingOrderIds, 'add'>;
}

export interface RetryOutcome {
  entry: ExceptionEntry;
  /** Event ids put back on the bus, or the order queued for a re-read. */
  republished: string[];
  reread?: string;
}

/**
 * Retries through the normal path: the stored events go back on the bus (every connector's idempotency skips
 * what it already delivered, so only the failed delivery happens again), or an order Mirakl gave us unusable is
 * queued for the next poll's re-read. The entry is marked retried; if the record fails again it reopens.
 */
export async function retryException(deps: RetryDeps, id: string): Promise<RetryOutcome> {
  const entry = await deps.inbox.get(id);
  if (!entry) throw new NotFoundError(id);
  if (entry.retry === 'republish') {
    const events = await deps.inbox.storedEvents(id);
    await deps.publisher.publish(events);
    const ids = events.map((event) => event.id);
    const resolved = await deps.inbox.resolve(id, `re-published ${ids.join(', ')}`, 'retried');
    return { entry: resolved, republished: ids };
  }
  if (entry.retry === 'reread') {
    await deps.pending.add(entry.marketplace, [entry.ref]);
    const resolved = await deps.inbox.resolve(id, `order ${entry.ref} queued for a re-read at the next poll`, 'retried');
    return { entry: resolved, republished: [], reread: entry.ref };
  }
  throw new NotRetryableError(notRetryableAdvice(entry));
}

function notRetryableAdvice(entry: ExceptionEntry): string {
  if (entry.payloadErased) {
    return `exception ${entry.id}: its event was erased with the buyer's data (a privacy request), so there is nothing to re-send; resolve it`;
  }
  if (entry.payloadRef?.startsWith('sqs:')) {
    return `exception ${entry.id} is a message that is not a valid event; nothing can re-publish it: inspect the ${entry.component} DLQ, then resolve the exception`;
  }
  if (entry.type === 'acceptance.deadline-at-risk') {
    return `exception ${entry.id} needs a decision in Mirakl (accept or refuse order ${entry.ref}); resolve it once done`;
  }
  if (entry.type === 'journey.entry-uncertain') {
    return `exception ${entry.id}: the journey entry of order ${entry.ref} is never sent again (it may have entered); check the journey's entry data in SFMC, add the contact by hand if it is missing, then resolve it`;
  }
  if (entry.type === 'enrolment.uncertain' || entry.type === 'enrolment.refused') {
    return `exception ${entry.id}: the programme enrolment of order ${entry.ref} is never sent again; check the programme's enrolments in Dotdigital, enrol the buyer by hand if it is missing (after fixing the programme if Dotdigital refused), then resolve it`;
  }
  return `exception ${entry.id} has no stored event to re-publish; redrive the ${entry.component} DLQ (marketbridge redrive --connector ${entry.component}) or resolve it with a note`;
}
