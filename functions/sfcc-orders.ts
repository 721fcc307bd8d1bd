/**
 * sfcc-orders connector Lambda: confirmed Mirakl orders become SFCC orders (SCAPI createOrders) with the finance
 * attributes; refunds and cancellations update them, holding the order's lease in the `state` table. Products come
 * from the SKU map in the `mappings` table.
 */
import { DynamoLeaseStore } from './shared/aws/leaseStore';
import { TABLES, tableName } from './shared/aws/tables';
import { DynamoMappingTable } from './shared/commerce/dynamoMappings';
import { SkuMap } from './shared/commerce/mappings';
import { connectorHandler } from './shared/connector/handler';
import { createSfccOrdersConnector } from './shared/sfcc/connector';

export const handler = connectorHandler(
  'sfcc-orders',
  ({ config, http, secret, documents: client }) => {
    const mappings = new DynamoMappingTable(client, tableName(TABLES.mappings));
    return createSfccOrdersConnector({
      config,
      http,
      secret,
      // A fresh map per order: SKU lookups are cached for one delivery, never across warm invocations.
      skuMap: (marketplace) => new SkuMap(mappings, marketplace),
      leases: new DynamoLeaseStore(client, tableName(TABLES.state)),
    });
  },
  // SCAPI admin calls time out at 60 s server-side; three attempts with short waits keep a batch in the budget.
  { http: { timeoutMs: 15_000, retry: { maxAttempts: 3, maxDelayMs: 10_000 } } },
);
