/**
 * mirakl-acceptance connector Lambda: `Order Awaiting Acceptance` events become OR21 decisions against SFCC
 * available-to-sell (live when `sfcc.inventory` is configured, else SFCC's pushed `Stock Changed` readings).
 */
import { connectorHandler } from './shared/connector/handler';
import { createAcceptanceConnector } from './shared/commerce/acceptanceConnector';
import { acceptanceStock, commerceAws } from './shared/commerce/awsDependencies';

export const handler = connectorHandler('mirakl-acceptance', ({ config, http }) => {
  const aws = commerceAws(config, http);
  return createAcceptanceConnector({ ...aws, availableToSell: acceptanceStock(config, http, aws.mappings) });
});
