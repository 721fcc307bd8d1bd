/** mirakl-tracking connector Lambda: SFCC `Shipment Dispatched` events become OR23 + OR24 (or ST01). */
import { connectorHandler } from './shared/connector/handler';
import { commerceAws, marketplaceGuard } from './shared/commerce/awsDependencies';
import { createTrackingConnector } from './shared/commerce/trackingConnector';

export const handler = connectorHandler('mirakl-tracking', ({ config, http }) => {
  const aws = commerceAws(config, http);
  return createTrackingConnector({ ...aws, guard: marketplaceGuard(config, aws.state) });
});
