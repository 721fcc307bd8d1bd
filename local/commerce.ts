/**
 * The commerce loop in the local runtime, beside what the connector queues already do: the SKU map seeded from
 * the Mirakl sandbox catalogue (every offer maps to the SFCC sandbox product of the same id, except the offers
 * the sandbox leaves unmapped on purpose), and the two schedules the stack deploys, the stock run per marketplace
 * and the acceptance deadline watch, run by timers on the real handlers.
 */
import type { Context } from 'aws-lambda';
import { documentClient } from '../functions/shared/aws/clients';
import { TABLES, tableName } from '../functions/shared/aws/tables';
import { ACCEPTANCE_WATCH_MINUTES } from '../functions/shared/commerce/deadlineWatch';
import { DynamoMappingTable } from '../functions/shared/commerce/dynamoMappings';
import { SkuMap } from '../functions/shared/commerce/mappings';
import type { Config } from '../functions/shared/config';
import { loadHandler } from './connectors';
import { lambdaContext } from './lambda';
import type { MiraklSandbox } from './sandboxes/mirakl';
import { sandboxProductId } from './sandboxes/sfcc/attach';

type ScheduledHandler = (input: object, context: Context) => Promise<unknown>;

export interface CommerceLoopOptions {
  config: Config;
  sandbox: MiraklSandbox;
  /** Handler files of the enabled return-path connectors that exist. */
  stockHandlerFile?: string;
  watchHandlerFile?: string;
  warn(message: string): void;
}

/** Seeds the SKU map (environment already pointing at the local DynamoDB) and starts the timers; returns a stop. */
export async function startCommerceLoop(options: CommerceLoopOptions): Promise<() => void> {
  const mappings = new DynamoMappingTable(documentClient(), tableName(TABLES.mappings));
  for (const marketplace of options.config.marketplaces) {
    const skus = new SkuMap(mappings, marketplace.id);
    for (const offer of options.sandbox.world.offers(marketplace.id)) {
      const productId = sandboxProductId(offer.sku);
      if (productId) await skus.set(offer.sku, productId);
    }
  }
  const timers: NodeJS.Timeout[] = [];
  const every = (minutes: number, name: string, run: () => Promise<unknown>) => {
    timers.push(setInterval(() => void run().catch((error: Error) => options.warn(`${name} failed: ${error.name}: ${error.message}`)), minutes * 60_000));
  };
  if (options.stockHandlerFile) {
    const stock = await loadHandler<ScheduledHandler>(options.stockHandlerFile);
    for (const marketplace of options.config.marketplaces) {
      every(marketplace.stockPushMinutes, `stock run ${marketplace.id}`, () =>
        stock({ marketplace: marketplace.id }, lambdaContext('marketbridge-mirakl-stock', 90_000)),
      );
    }
  }
  if (options.watchHandlerFile) {
    const watch = await loadHandler<ScheduledHandler>(options.watchHandlerFile);
    every(ACCEPTANCE_WATCH_MINUTES, 'acceptance watch', () => watch({}, lambdaContext('marketbridge-acceptance-watch', 120_000)));
  }
  return () => timers.forEach(clearInterval);
}
