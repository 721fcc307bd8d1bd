/**
 * `marketbridge plan`: the dry run. Reads recorded OR11 responses, runs the real normaliser (and, as connectors
 * land, their real mappers) and prints JSON lines: events, the requests they would cause, and exceptions.
 * No network, no AWS: state between successive polls lives in memory.
 */
import { parseArgs } from 'node:util';
import { type Config, marketplaceById, resolveConfig } from '../functions/shared/config';
import { isErasure } from '../functions/shared/privacy/erasure';
import { CONNECTOR_ROUTES } from '../functions/shared/routes';
import type { BusinessEvent } from '../functions/shared/events';
import type { ExceptionInput } from '../functions/shared/exceptions';
import { runIngest } from '../functions/shared/ingest/ingestRun';
import { MemoryState, openGate, RecordedOrders } from '../functions/shared/ingest/memory';
import { OrdersPageSchema } from '../functions/shared/mirakl/orders';
import { MemoryMappingTable, SkuMap, parseSkuMapCsv } from '../functions/shared/commerce/mappings';
import { STOCK_NOT_CHECKED, miraklPlanLines, parsePlanStockCsv } from '../functions/shared/commerce/plan';
import type { AvailableToSell } from '../functions/shared/commerce/ports';
import { sfccPlanLines } from '../functions/shared/sfcc/requests';
import { dotdigitalRequestsFor } from '../functions/shared/dotdigital/requests';
import { klaviyoRequestsFor } from '../functions/shared/klaviyo/requests';
import { sfmcRequestsFor } from '../functions/shared/sfmc/requests';
import { exceptionLine, type PlannedRequest, requestLine } from '../functions/shared/connector/plannedRequest';
import { type Output, readInput, UsageError } from './io';

export const PLAN_USAGE =
  'usage: marketbridge plan [--config FILE] --marketplace ID [--backfill] [--sku-map CSV] [--stock CSV] [FILE]   (FILE or stdin: one OR11 response or a JSON array of them; SKU map CSV header offer_sku,product_id; stock CSV header product_id,available_to_sell)';

/** The dry run's SFCC available-to-sell for the acceptance plan: the CSV, or no stock check at all. */
async function planStock(file: string | undefined, out: Output): Promise<AvailableToSell> {
  if (!file) {
    out.error('notice: no --stock file: acceptance plans do not check stock');
    return STOCK_NOT_CHECKED;
  }
  try {
    return parsePlanStockCsv(await readInput(file));
  } catch (error) {
    throw new UsageError(`--stock ${file}: ${(error as Error).message}`);
  }
}

/** The dry run's SKU map for the marketplace planned: the CSV's rows; without one, every offer SKU is unmapped. */
async function planSkuMap(marketplace: string, file: string | undefined): Promise<SkuMap> {
  const map = new SkuMap(new MemoryMappingTable(), marketplace);
  if (!file) return map;
  let rows: { offerSku: string; productId: string }[];
  try {
    rows = parseSkuMapCsv(await readInput(file));
  } catch (error) {
    throw new UsageError(`--sku-map ${file}: ${(error as Error).message}`);
  }
  for (const row of rows) await map.set(row.offerSku, row.productId);
  return map;
}

/** Splits the input into successive OR11 responses, naming the one that is not. */
export function parsePlanInput(text: string): unknown[][] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`input is not valid JSON: ${(error as Error).message}`);
  }
  const responses = Array.isArray(json) ? json : [json];
  return responses.map((response, i) => {
    const page = OrdersPageSchema.safeParse(response);
    if (!page.success) {
      const where = Array.isArray(json) ? `input[${i}]` : 'input';
      throw new UsageError(`${where} is not an OR11 response: expected an object with an "orders" array`);
    }
    return page.data.orders;
  });
}

function eventLine(event: BusinessEvent) {
  return { kind: 'event', id: event.id, source: event.source, detailType: event.detailType, detail: event.detail };
}

const MARKETING_PLANNERS = {
  klaviyo: klaviyoRequestsFor,
  dotdigital: dotdigitalRequestsFor,
  sfmc: sfmcRequestsFor,
} as const;

/** The marketing destinations' requests for an event, for each enabled connector routed this marketplace. */
function marketingRequests(event: BusinessEvent, config: Config, backfill: boolean): PlannedRequest[] {
  return (Object.keys(MARKETING_PLANNERS) as (keyof typeof MARKETING_PLANNERS)[]).flatMap((name) => {
    const connector = config.connectors[name];
    // An erasure's requests depend on what the destination holds (Klaviyo looks the profile up first): the dry run
    // shows the event itself.
    if (!connector?.enabled || !CONNECTOR_ROUTES[name].includes(event.detailType) || isErasure(event)) return [];
    if (connector.marketplaces.length > 0 && !connector.marketplaces.includes(event.detail.marketplace)) return [];
    return MARKETING_PLANNERS[name](event, config, { backfill });
  });
}


export async function plan(args: string[], out: Output, stdin?: NodeJS.ReadableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      marketplace: { type: 'string' },
      'sku-map': { type: 'string' },
      stock: { type: 'string' },
      backfill: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (!values.marketplace) throw new UsageError(`--marketplace is required\n${PLAN_USAGE}`);
  if (positionals.length > 1) throw new UsageError(`at most one input file\n${PLAN_USAGE}`);
  const config = resolveConfig(values.config ? { file: values.config } : { env: {} });
  const marketplace = marketplaceById(config, values.marketplace);
  const polls = parsePlanInput(await readInput(positionals[0], stdin));
  const skuMap = await planSkuMap(marketplace.id, values['sku-map']);
  const stock = config.connectors['mirakl-acceptance']?.enabled ? await planStock(values.stock, out) : STOCK_NOT_CHECKED;

  const state = new MemoryState();
  let source = new RecordedOrders([]);
  const deps = {
    snapshots: state,
    cursors: state,
    pending: state,
    gate: openGate,
    orders: async () => source,
    publisher: {
      publish: async (events: readonly BusinessEvent[]) => {
        for (const event of events) {
          out.line(eventLine(event));
          for (const request of marketingRequests(event, config, values.backfill ?? false)) out.line(requestLine(request));
          for (const line of await sfccPlanLines(event, config, () => skuMap)) out.line(line);
          for (const line of await miraklPlanLines(event, config, () => skuMap, () => stock)) out.line(line);
        }
      },
    },
    exceptions: { record: async (e: ExceptionInput) => out.line(exceptionLine(e)) },
    log: { info: () => undefined, warn: (message: string) => out.error(`notice: ${message}`) },
    now: () => new Date(),
  };
  for (const orders of polls) {
    source = new RecordedOrders(orders);
    await runIngest(deps, marketplace, 'poll', { backfill: values.backfill ?? false });
  }
  return 0;
}
