/**
 * Resolves a carrier name through the carrier map, seeding the map from Mirakl's SH21 carrier list when a name
 * is unknown. SH21's contract is once per day: the shared call-frequency guard decides whether this run may call
 * it, so a stream of unknown carriers costs one SH21 a day, not one per shipment.
 *
 * A batch's records run in parallel, so several may miss the map at once: they share the one SH21 read in
 * progress for their marketplace instead of finding its slot spent while the list is being read. Only the read in
 * progress is shared. Once it settles, the carrier map in DynamoDB is what every later record reads, in this
 * instance or another; a list kept in memory across warm invocations would add nothing but staleness (a seeded
 * mapping a person deleted coming back), and a failed read is retried under the guard's rules, not cached.
 *
 * When the list cannot be read, the shipment is never dropped or sent without its carrier: a call that never
 * reached Mirakl, or whose answer was lost (the guard reopens its slot early), fails the record as retryable so
 * its redelivery reads the list (still a `carrier.unknown` if its receives run out first); otherwise it becomes a
 * `carrier.unknown` exception saying why and when SH21 may be called again, with the event kept for
 * `exceptions retry`.
 */
import { PermanentError, RetryableError, classify } from '../connector/failures';
import type { CallFrequencyGuard, GuardedCall } from '../mirakl/callFrequency';
import type { MiraklCarrierRef } from './dispatch';
import type { CarrierMap } from './mappings';
import type { CommerceLog, MiraklClients } from './ports';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export type CarrierResolver = (name: string, carriers: CarrierMap) => Promise<MiraklCarrierRef | undefined>;

/** One resolver per connector instance: it holds the SH21 reads in progress, by marketplace. */
export function carrierResolver(deps: { guard: CallFrequencyGuard; mirakl: MiraklClients; log: CommerceLog }): CarrierResolver {
  const reading = new Map<string, Promise<GuardedCall<unknown>>>();

  /** SH21 under its slot, then the map seeded from it; settles once the seeded names can be resolved. */
  async function readList(carriers: CarrierMap): Promise<GuardedCall<unknown>> {
    const marketplace = carriers.marketplace;
    // The client first: failing to build it (its key unreadable) must not spend the day's SH21.
    const client = await deps.mirakl(marketplace);
    const read = await deps.guard.call(marketplace, 'SH21', () => client.listCarriers());
    if (read.status === 'done') {
      const written = await carriers.seed(read.value);
      deps.log.info('carrier map seeded from SH21', { marketplace, carriers: read.value.length, written });
    } else if (read.status === 'failed') {
      deps.log.warn('carrier list (SH21) could not be read', {
        marketplace,
        slot: read.slot,
        retryInMs: read.retryInMs,
        reason: classify(read.error).reason,
      });
    }
    return read;
  }

  function sharedRead(carriers: CarrierMap): Promise<GuardedCall<unknown>> {
    let read = reading.get(carriers.marketplace);
    if (!read) {
      read = readList(carriers).finally(() => reading.delete(carriers.marketplace));
      reading.set(carriers.marketplace, read);
    }
    return read;
  }

  return async (name, carriers) => {
    const known = await carriers.resolve(name);
    if (known) return known;
    const read = await sharedRead(carriers);
    if (read.status === 'done') return carriers.resolve(name);
    const marketplace = carriers.marketplace;
    let why = "Mirakl's carrier list (SH21, once a day) was already read or tried";
    // The guard cannot say when the slot was taken, so a refusal knows only the longest wait.
    let when = `in at most ${span(read.retryInMs)}, sooner if its last call was cut off`;
    if (read.status === 'refused') {
      // The map may have been seeded after this record looked: by a read that just finished, here or elsewhere.
      const seeded = await carriers.resolve(name);
      if (seeded) return seeded;
    } else {
      why = `Mirakl's carrier list could not be read (${classify(read.error).reason})`;
      when = read.retryInMs === 0 ? 'now' : `in at most ${span(read.retryInMs)}`;
    }
    const reason =
      `carrier "${name}" is not in the carrier map and ${why}: map it (marketbridge mappings carrier set ` +
      `--marketplace ${marketplace} "${name}" CODE), or retry the record once SH21 may be called again (${when}); ` +
      'the order is not marked shipped';
    // A slot given back or reopened early: the redelivery reads the list.
    if (read.status === 'failed' && read.slot !== 'used') {
      throw new RetryableError(reason, { cause: read.error, exceptionType: 'carrier.unknown' });
    }
    throw new PermanentError(reason, { exceptionType: 'carrier.unknown' });
  };
}

/** An upper bound, rounded up to whole minutes under an hour, else whole hours. */
function span(ms: number): string {
  return ms < HOUR ? `${Math.ceil(ms / MINUTE)} min` : `${Math.ceil(ms / HOUR)} h`;
}
