/** mirakl-tracking connector Lambda: SFCC `Shipment Dispatched` events become OR23 + OR24 (or ST01). */
import { connectorHandler } from './shared/connector/handler';
import { commerceAws } from './shared/commerce/awsDependencies';
import { createMarketplaceGuard } from './shared/mirakl/callFrequency';
import { createTrackingConnector } from './shared/commerce/trackingConnector';

export const handler = connectorHandler('mirakl-tracking', ({ config, http }) => {
  const aws = commerceAws(config, http);
  return createTrackingConnector({ ...aws, guard: createMarketplaceGuard(config.marketplaces, aws.state) });
});
