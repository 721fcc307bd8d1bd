/**
 * Resolves a carrier name through the carrier map, seeding the map from Mirakl's SH21 carrier list when a name
 * is unknown. SH21's contract is once per day: the shared call-frequency guard decides whether this run may call
 * it, so a stream of unknown carriers costs one SH21 a day, not one per shipment.
 */
import type { CallFrequencyGuard } from '../mirakl/callFrequency';
import type { MiraklCarrierRef } from './dispatch';
import type { CarrierMap } from './mappings';
import type { CommerceLog, MiraklClients } from './ports';

export async function resolveCarrier(
  name: string,
  carriers: CarrierMap,
  deps: { guard: CallFrequencyGuard; mirakl: MiraklClients; log: CommerceLog },
): Promise<MiraklCarrierRef | undefined> {
  const known = await carriers.resolve(name);
  if (known) return known;
  const grant = await deps.guard.acquire(carriers.marketplace, 'SH21');
  if (!grant.granted) return undefined;
  const list = await (await deps.mirakl(carriers.marketplace)).listCarriers();
  const written = await carriers.seed(list);
  deps.log.info('carrier map seeded from SH21', { marketplace: carriers.marketplace, carriers: list.length, written });
  return carriers.resolve(name);
}
