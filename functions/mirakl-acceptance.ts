/**
 * mirakl-acceptance connector Lambda: `Order Awaiting Acceptance` events become OR21 decisions. Available-to-sell
 * comes from the SFCC stock ledger (`Stock Changed` readings).
 */
import { connectorHandler } from './shared/connector/handler';
import { createAcceptanceConnector } from './shared/commerce/acceptanceConnector';
import { commerceAws } from './shared/commerce/awsDependencies';
import { ledgerAvailableToSell } from './shared/commerce/stockPush';

export const handler = connectorHandler('mirakl-acceptance', ({ config, http }) => {
  const aws = commerceAws(config, http);
  return createAcceptanceConnector({ ...aws, availableToSell: (marketplace) => ledgerAvailableToSell(aws.mappings, marketplace) });
});
