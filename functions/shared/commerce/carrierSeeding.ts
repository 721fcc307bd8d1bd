/**
 * Resolves a carrier name through the carrier map, seeding the map from Mirakl's SH21 carrier list when a name
 * is unknown. SH21's contract is once per day: the shared call-frequency guard decides whether this run may call
 * it, so a stream of unknown carriers costs one SH21 a day, not one per shipment.
 *
 * When the list cannot be read, the shipment is never dropped or sent without its carrier: a call that never
 * reached Mirakl, or whose answer was lost (the guard reopens its slot early), fails the record as retryable so
 * its redelivery reads the list; otherwise it becomes a `carrier.unknown` exception saying why and when SH21 may
 * be called again, with the event kept for `exceptions retry`.
 */
import { PermanentError, classify } from '../connector/failures';
import type { CallFrequencyGuard } from '../mirakl/callFrequency';
import type { MiraklCarrierRef } from './dispatch';
import type { CarrierMap } from './mappings';
import type { CommerceLog, MiraklClients } from './ports';

const HOUR = 3_600_000;

export async function resolveCarrier(
  name: string,
  carriers: CarrierMap,
  deps: { guard: CallFrequencyGuard; mirakl: MiraklClients; log: CommerceLog },
): Promise<MiraklCarrierRef | undefined> {
  const known = await carriers.resolve(name);
  if (known) return known;
  const marketplace = carriers.marketplace;
  // The client first: failing to build it (its key unreadable) must not spend the day's SH21.
  const client = await deps.mirakl(marketplace);
  const read = await deps.guard.call(marketplace, 'SH21', () => client.listCarriers());
  if (read.status === 'done') {
    const written = await carriers.seed(read.value);
    deps.log.info('carrier map seeded from SH21', { marketplace, carriers: read.value.length, written });
    return carriers.resolve(name);
  }
  let why = "Mirakl's carrier list (SH21, once a day) was already read or tried";
  if (read.status === 'failed') {
    const failure = classify(read.error).reason;
    deps.log.warn('carrier list (SH21) could not be read', { marketplace, slot: read.slot, retryInMs: read.retryInMs, reason: failure });
    if (read.slot !== 'used') throw read.error;
    why = `Mirakl's carrier list could not be read (${failure})`;
  }
  // An upper bound (the guard's retryInMs): SH21 may be called again by then, perhaps sooner.
  const hours = Math.ceil(read.retryInMs / HOUR);
  throw new PermanentError(
    `carrier "${name}" is not in the carrier map and ${why}: map it (marketbridge mappings carrier set ` +
      `--marketplace ${marketplace} "${name}" CODE), or retry the record within ${hours} h, once SH21 may be ` +
      'called again; the order is not marked shipped',
    { exceptionType: 'carrier.unknown' },
  );
}
