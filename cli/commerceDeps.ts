/**
 * What the `mappings` and `stock` commands work on: the deployment's `mappings` table (MAPPINGS_TABLE_NAME, with
 * the standard AWS credentials and endpoint variables), and for `stock diff` the marketplace's Mirakl key from
 * Secrets Manager and SFCC available-to-sell. Tests pass their own.
 */
import { documentClient } from '../functions/shared/aws/clients';
import { TABLES, tableName } from '../functions/shared/aws/tables';
import { acceptanceStock, miraklClients } from '../functions/shared/commerce/awsDependencies';
import { DynamoMappingTable } from '../functions/shared/commerce/dynamoMappings';
import type { MappingTable } from '../functions/shared/commerce/mappings';
import type { AvailableToSell, MiraklClients } from '../functions/shared/commerce/ports';
import type { Config } from '../functions/shared/config';
import { createHttpClient } from '../functions/shared/http';
import { UsageError } from './io';

export interface CommerceCliDeps {
  mappings: MappingTable;
  mirakl: MiraklClients;
  availableToSell(marketplace: string): AvailableToSell;
}

export function awsCommerceCliDeps(config: Config): CommerceCliDeps {
  let table: string;
  try {
    table = tableName(TABLES.mappings);
  } catch {
    throw new UsageError(`set ${TABLES.mappings.envVar} to the deployment's mappings table (stack output MappingsTableName)`);
  }
  const http = createHttpClient();
  const mappings = new DynamoMappingTable(documentClient(), table);
  return { mappings, mirakl: miraklClients(config, http), availableToSell: acceptanceStock(config, http, mappings) };
}
