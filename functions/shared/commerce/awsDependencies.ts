/**
 * Wires the commerce loop to AWS: the `mappings` table, the shared call-frequency slots in the `state` table,
 * the exception inbox, and one Mirakl client per marketplace built on first use with its key from Secrets
 * Manager, over the caller's HTTP layer (so a connector's 429s are counted in its metrics).
 */
import { documentClient } from '../aws/clients';
import { DynamoExceptionRecorder } from '../aws/exceptionStore';
import { MIRAKL_API_KEY_FIELD } from '../aws/ingestDependencies';
import { readSecretField } from '../aws/secrets';
import { DynamoStateStore } from '../aws/stateStore';
import { TABLES, tableName } from '../aws/tables';
import { type Config, marketplaceById } from '../config';
import type { HttpClient } from '../http';
import { type MiraklClient, createMiraklClient } from '../mirakl/client';
import { logger } from '../observability';
import { createAvailableToSellReader } from '../sfcc/inventory';
import { DynamoMappingTable } from './dynamoMappings';
import type { MappingTable } from './mappings';
import type { AvailableToSell, CommerceLog, MiraklClients } from './ports';
import { ledgerAvailableToSell } from './stockPush';

/** Mirakl clients by marketplace, cached; a failed secret read is not cached, so the next call tries again. */
export function miraklClients(config: Config, http: HttpClient): MiraklClients {
  const clients = new Map<string, Promise<MiraklClient>>();
  return (marketplaceId) => {
    let client = clients.get(marketplaceId);
    if (!client) {
      const marketplace = marketplaceById(config, marketplaceId);
      client = readSecretField(marketplace.apiKeySecret, MIRAKL_API_KEY_FIELD).then((apiKey) =>
        createMiraklClient({
          baseUrl: marketplace.baseUrl,
          apiKey,
          ...(marketplace.shopId === undefined ? {} : { shopId: marketplace.shopId }),
          http,
        }),
      );
      client.catch(() => clients.delete(marketplaceId));
      clients.set(marketplaceId, client);
    }
    return client;
  };
}

export const commerceLog: CommerceLog = {
  info: (message, attributes) => logger.info(message, attributes ?? {}),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
};

export function commerceAws(config: Config, http: HttpClient) {
  const documents = documentClient();
  return {
    config,
    mirakl: miraklClients(config, http),
    mappings: new DynamoMappingTable(documents, tableName(TABLES.mappings)),
    state: new DynamoStateStore(documents, tableName(TABLES.state)),
    exceptions: new DynamoExceptionRecorder(documents, tableName(TABLES.exceptions)),
    log: commerceLog,
  };
}

/** SFCC's live available-to-sell when `sfcc.inventory` is configured; none otherwise. */
export function sfccAvailableToSell(config: Config, http: HttpClient): AvailableToSell | undefined {
  const sfcc = config.sfcc;
  if (!sfcc?.inventory) return undefined;
  return createAvailableToSellReader({ sfcc, http, secret: (field) => readSecretField(sfcc.secretName, field) });
}

/**
 * Where acceptance reads stock: SFCC live when configured, else the readings SFCC pushed through `Stock Changed`
 * (a product never reported has nothing to sell, so nothing is accepted against it).
 */
export function acceptanceStock(config: Config, http: HttpClient, mappings: MappingTable): (marketplace: string) => AvailableToSell {
  const live = sfccAvailableToSell(config, http);
  return (marketplace) => live ?? ledgerAvailableToSell(mappings, marketplace);
}
