/**
 * The commerce loop in the local runtime, beside what the connector queues already do: the SKU map seeded from
 * the Mirakl sandbox catalogue (every offer maps to the SFCC sandbox product of the same id, except the offers
 * the sandbox leaves unmapped on purpose), and the schedules the stack deploys for the return path, the stock run
 * per marketplace, the acceptance deadline watch and the SFCC shipments read, as jobs the local scheduler runs on
 * the real handlers.
 */
import type { Context } from 'aws-lambda';
import { documentClient } from '../functions/shared/aws/clients';
import { TABLES, tableName } from '../functions/shared/aws/tables';
import { ACCEPTANCE_WATCH_MINUTES } from '../functions/shared/commerce/deadlineWatch';
import { SHIPMENTS_READ_MINUTES } from '../functions/shared/sfcc/shipmentsRun';
import { DynamoMappingTable } from '../functions/shared/commerce/dynamoMappings';
import { SkuMap } from '../functions/shared/commerce/mappings';
import type { Config } from '../functions/shared/config';
import { loadHandler } from './connectors';
import { lambdaContext } from './lambda';
import type { ScheduledJob } from './scheduler';
import type { MiraklSandbox } from './sandboxes/mirakl';
import { sandboxProductId } from './sandboxes/sfcc/attach';

type ScheduledHandler = (input: object, context: Context) => Promise<unknown>;

export interface CommerceLoopOptions {
  config: Config;
  sandbox: MiraklSandbox;
  /** Handler files of the enabled return-path connectors that exist. */
  stockHandlerFile?: string;
  watchHandlerFile?: string;
  shipmentsHandlerFile?: string;
}

/** Seeds the SKU map (environment already pointing at the local DynamoDB); returns the scheduled jobs. */
export async function prepareCommerceLoop(options: CommerceLoopOptions): Promise<ScheduledJob[]> {
  const mappings = new DynamoMappingTable(documentClient(), tableName(TABLES.mappings));
  for (const marketplace of options.config.marketplaces) {
    const skus = new SkuMap(mappings, marketplace.id);
    for (const offer of options.sandbox.world.offers(marketplace.id)) {
      const productId = sandboxProductId(offer.sku);
      if (productId) await skus.set(offer.sku, productId);
    }
  }
  const jobs: ScheduledJob[] = [];
  if (options.stockHandlerFile) {
    const stock = await loadHandler<ScheduledHandler>(options.stockHandlerFile);
    for (const marketplace of options.config.marketplaces) {
      jobs.push({
        name: `mirakl-stock ${marketplace.id}`,
        intervalMinutes: marketplace.stockPushMinutes,
        invoke: () => stock({ marketplace: marketplace.id }, lambdaContext('marketbridge-mirakl-stock', 90_000)),
      });
    }
  }
  if (options.watchHandlerFile) {
    const watch = await loadHandler<ScheduledHandler>(options.watchHandlerFile);
    jobs.push({
      name: 'acceptance-watch',
      intervalMinutes: ACCEPTANCE_WATCH_MINUTES,
      invoke: () => watch({}, lambdaContext('marketbridge-acceptance-watch', 120_000)),
    });
  }
  if (options.shipmentsHandlerFile) {
    const shipments = await loadHandler<ScheduledHandler>(options.shipmentsHandlerFile);
    jobs.push({
      name: 'sfcc-shipments',
      intervalMinutes: SHIPMENTS_READ_MINUTES,
      invoke: () => shipments({}, lambdaContext('marketbridge-sfcc-shipments', 120_000)),
    });
  }
  return jobs;
}
