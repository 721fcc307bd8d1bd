/**
 * `marketbridge exceptions list|retry|resolve`: the exception inbox from a terminal. Works on the deployment's
 * tables and bus (EXCEPTIONS_TABLE_NAME, STATE_TABLE_NAME, EVENT_BUS_NAME with the standard AWS variables), or on
 * the local runtime's through AWS_ENDPOINT_URL_*. Listings show references and reasons, never buyer data.
 */
import { parseArgs } from 'node:util';
import { TABLES } from '../functions/shared/aws/tables';
import { awsRetryDeps } from '../functions/shared/operations/aws';
import { type DynamoExceptionInbox, type ExceptionEntry, type ExceptionFilter, NotFoundError, NotRetryableError, type RetryDeps, retryException } from '../functions/shared/operations/inbox';
import { type Output, printText, UsageError } from './io';

export const EXCEPTIONS_USAGE = `usage: marketbridge exceptions list [--type TYPE] [--marketplace ID] [--owner TEAM] [--status open|resolved|all] [--limit N] [--json]
       marketbridge exceptions retry ID
       marketbridge exceptions resolve ID --note TEXT`;

const STATUSES = ['open', 'resolved', 'all'] as const;

/** The inbox with listing, and what a retry needs. */
export type InboxDeps = RetryDeps & { inbox: Pick<DynamoExceptionInbox, 'list' | 'get' | 'storedEvents' | 'resolve'> };

function awsDeps(): InboxDeps {
  try {
    return awsRetryDeps();
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}: set ${TABLES.exceptions.envVar}, ${TABLES.state.envVar} and EVENT_BUS_NAME to the deployment's (stack outputs)`,
    );
  }
}

function row(entry: ExceptionEntry): string {
  const since = entry.firstSeen.slice(0, 16).replace('T', ' ');
  return [entry.status.padEnd(8), entry.owner.padEnd(10), entry.type.padEnd(28), entry.marketplace.padEnd(12), entry.ref.padEnd(20), `×${entry.occurrences}`.padEnd(5), since, entry.reason].join(' ');
}

export async function exceptions(args: string[], out: Output, _stdin?: NodeJS.ReadableStream, deps: () => InboxDeps = awsDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      type: { type: 'string' },
      marketplace: { type: 'string' },
      owner: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      note: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const [action, id, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(EXCEPTIONS_USAGE);

  if (action === 'list' && id === undefined) {
    const status = values.status ?? 'open';
    if (!(STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status must be open, resolved or all\n${EXCEPTIONS_USAGE}`);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
    const filter: ExceptionFilter = {
      status: status as ExceptionFilter['status'],
      ...(values.type ? { type: values.type } : {}),
      ...(values.marketplace ? { marketplace: values.marketplace } : {}),
      ...(values.owner ? { owner: values.owner } : {}),
      ...(limit ? { limit } : {}),
    };
    const entries = await deps().inbox.list(filter);
    if (values.json) for (const entry of entries) out.line(entry);
    else {
      printText(out, ['status'.padEnd(8), 'owner'.padEnd(10), 'type'.padEnd(28), 'marketplace'.padEnd(12), 'record'.padEnd(20), 'count', 'first seen (UTC)', 'reason'].join(' '));
      for (const entry of entries) printText(out, row(entry));
    }
    out.error(`${entries.length} exception(s)`);
    return 0;
  }
  if (action === 'retry' && id) {
    try {
      const outcome = await retryException(deps(), id);
      out.line({ id, retried: true, republished: outcome.republished, ...(outcome.reread ? { reread: outcome.reread } : {}) });
      return 0;
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof NotRetryableError) {
        out.error(error.message);
        return 1;
      }
      throw error;
    }
  }
  if (action === 'resolve' && id) {
    if (!values.note?.trim()) throw new UsageError(`--note is required: say what was done\n${EXCEPTIONS_USAGE}`);
    try {
      const entry = await deps().inbox.resolve(id, values.note.trim());
      out.line({ id, status: entry.status, note: entry.resolution?.note });
      return 0;
    } catch (error) {
      if (error instanceof NotFoundError) {
        out.error(error.message);
        return 1;
      }
      throw error;
    }
  }
  throw new UsageError(EXCEPTIONS_USAGE);
}
