/**
 * `marketbridge erase --marketplace ID --customer ID`: erases a marketplace buyer. Our own tables first (the
 * exception inbox keeps no payload of theirs; see functions/shared/privacy/ownRecords), then the erasure event on
 * the bus, which each enabled destination's connector delivers, records and retries like any other event. Prints
 * one JSON line saying where the erasure went; the connectors' exceptions and DLQs say if a destination failed.
 */
import { parseArgs } from 'node:util';
import { documentClient, eventBridgeClient } from '../functions/shared/aws/clients';
import { createEventBridgePublisher } from '../functions/shared/aws/eventPublisher';
import { EVENT_BUS_ENV, TABLES, requiredEnv, tableName } from '../functions/shared/aws/tables';
import { type Config, marketplaceById, resolveConfig } from '../functions/shared/config';
import type { EventPublisher } from '../functions/shared/ingest/ports';
import { erasureEvent } from '../functions/shared/privacy/erasure';
import { DynamoOwnRecords, type OwnRecords } from '../functions/shared/privacy/ownRecords';
import { CONNECTOR_ROUTES, enabledConnectors } from '../functions/shared/routes';
import { type Output, UsageError } from './io';

export const ERASE_USAGE = 'usage: marketbridge erase [--config FILE] --marketplace ID --customer CUSTOMER_ID';

export interface EraseDeps {
  records: OwnRecords;
  publisher: EventPublisher;
  now(): Date;
}

export function awsEraseDeps(): EraseDeps {
  let exceptions: string;
  let bus: string;
  try {
    exceptions = tableName(TABLES.exceptions);
    bus = requiredEnv(EVENT_BUS_ENV);
  } catch {
    throw new UsageError(`set ${TABLES.exceptions.envVar} and ${EVENT_BUS_ENV} to the deployment's (stack outputs)`);
  }
  return {
    records: new DynamoOwnRecords(documentClient(), exceptions),
    publisher: createEventBridgePublisher({ client: eventBridgeClient(), busName: bus }),
    now: () => new Date(),
  };
}

export async function erase(
  args: string[],
  out: Output,
  _stdin?: NodeJS.ReadableStream,
  depsFor: (config: Config) => EraseDeps = awsEraseDeps,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, marketplace: { type: 'string' }, customer: { type: 'string' } },
  });
  const customer = values.customer?.trim();
  if (!values.marketplace || !customer) throw new UsageError(`--marketplace and --customer are required\n${ERASE_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : {});
  const marketplace = marketplaceById(config, values.marketplace);
  const deps = depsFor(config);

  const event = erasureEvent(marketplace.id, customer, 'request', deps.now().toISOString());
  const own = await deps.records.eraseBuyer(marketplace.id, event.detail.identity);
  await deps.publisher.publish([event]);
  const destinations = enabledConnectors(config).filter((name) => {
    const served = config.connectors[name]?.marketplaces ?? [];
    return CONNECTOR_ROUTES[name].includes(event.detailType) && (served.length === 0 || served.includes(marketplace.id));
  });
  out.line({ kind: 'erasure', eventId: event.id, destinations, exceptionsAnonymised: own.exceptionsAnonymised });
  if (destinations.length === 0) out.error('no enabled destination holds buyer profiles: only our own tables were erased');
  return 0;
}
