/**
 * EventBridge `AWSEvents.PutEvents` over the local bus, with the service's limits (10 entries, 1 MB per entry)
 * and per-entry failures, including injected ones so the publishers' retry of failed entries can be seen.
 */
import type { LocalBus } from '../bus';
import { AwsError, type AwsOperations } from './protocol';

export const MAX_ENTRIES_PER_REQUEST = 10;
/** Entry size limit since 2026-01-29 (was 256 KB). */
export const MAX_ENTRY_BYTES = 1_048_576;

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** Injected PutEvents failures: the next N entries, and/or a random fraction of entries. */
export class PutEventsFaults {
  private pending = 0;
  private code = 'InternalFailure';
  /** Fraction of entries (0-1) that fail at random. */
  rate = 0;
  /** Entries failed so far by injection. */
  injected = 0;

  constructor(private readonly random: () => number = Math.random) {}

  failNext(count: number, code = 'InternalFailure'): void {
    this.pending = count;
    this.code = code;
  }

  take(): { ErrorCode: string; ErrorMessage: string } | undefined {
    let code: string;
    if (this.pending > 0) {
      this.pending -= 1;
      code = this.code;
    } else if (this.rate > 0 && this.random() < this.rate) {
      code = 'InternalFailure';
    } else {
      return undefined;
    }
    this.injected += 1;
    return { ErrorCode: code, ErrorMessage: code === 'ThrottlingException' ? 'Rate exceeded' : 'Internal Failure' };
  }
}

/** CalculatePutEventsEntrySize from the EventBridge user guide. */
function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[field] === 'string') size += Buffer.byteLength(entry[field]);
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources) if (typeof resource === 'string') size += Buffer.byteLength(resource);
  }
  return size;
}

function invalid(field: string): EntryResult {
  return {
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
  };
}

export function eventBridgeOperations(bus: LocalBus, faults: PutEventsFaults): AwsOperations {
  const accepted = new Set([bus.name, bus.arn]);
  return {
    'AWSEvents.PutEvents': (input) => {
      const entries = input.Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES_PER_REQUEST) {
        throw new AwsError(
          'ValidationException',
          "1 validation error detected: Value at 'entries' failed to satisfy constraint: " +
            `Member must have length less than or equal to ${MAX_ENTRIES_PER_REQUEST}`,
        );
      }
      if (entries.some((entry) => typeof entry === 'object' && entry !== null && entrySize(entry) > MAX_ENTRY_BYTES)) {
        throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
      }
      const results: EntryResult[] = entries.map((raw): EntryResult => {
        const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        const busName = typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default';
        if (!accepted.has(busName)) {
          return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
        }
        if (typeof entry.Source !== 'string' || entry.Source === '') return invalid('Source');
        if (typeof entry.DetailType !== 'string' || entry.DetailType === '') return invalid('DetailType');
        if (typeof entry.Detail !== 'string' || entry.Detail === '') return invalid('Detail');
        let detail: unknown;
        try {
          detail = JSON.parse(entry.Detail);
        } catch {
          detail = undefined;
        }
        if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        }
        const fault = faults.take();
        if (fault) return fault;
        const resources = Array.isArray(entry.Resources)
          ? entry.Resources.filter((resource): resource is string => typeof resource === 'string')
          : [];
        // The JSON protocol sends timestamps as epoch seconds.
        const time = typeof entry.Time === 'number' ? entry.Time * 1000 : undefined;
        return {
          EventId: bus.publish({
            source: entry.Source,
            detailType: entry.DetailType,
            detail: detail as Record<string, unknown>,
            resources,
            ...(time !== undefined ? { time } : {}),
          }),
        };
      });
      return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
    },
  };
}
