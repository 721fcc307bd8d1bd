/**
 * The `mirakl-tracking` connector: each `Shipment Dispatched` from SFCC becomes OR23 (carrier code and tracking
 * number) then OR24, or one ST01 shipment on multi-shipment marketplaces. The carrier is translated through the
 * carrier map first; an unknown carrier fails the record as `carrier.unknown` naming it, before any Mirakl write,
 * so the order is never marked shipped without tracking. Redrive the record once the carrier is mapped.
 */
import { type Config, marketplaceById } from '../config';
import { PermanentError } from '../connector/failures';
import type { Connector } from '../connector/runtime';
import type { BusinessEvent } from '../events';
import { HttpError } from '../http';
import type { CallFrequencyGuard } from '../mirakl/callFrequency';
import { carrierResolver } from './carrierSeeding';
import { dispatchRequests } from './dispatch';
import { CarrierMap, type MappingTable } from './mappings';
import { isOrderStateConflict, isShippedAlready } from './miraklErrors';
import { ShipmentRejected, sendMiraklRequest } from './miraklRequests';
import type { CommerceLog, MiraklClients } from './ports';

export interface TrackingConnectorDeps {
  config: Config;
  mirakl: MiraklClients;
  mappings: MappingTable;
  guard: CallFrequencyGuard;
  log: CommerceLog;
}

export function createTrackingConnector(deps: TrackingConnectorDeps): Connector {
  const resolveCarrier = carrierResolver(deps);

  async function dispatch(event: BusinessEvent<'Shipment Dispatched'>): Promise<void> {
    const shipment = event.detail;
    const marketplace = marketplaceById(deps.config, shipment.marketplace);
    const carriers = new CarrierMap(deps.mappings, marketplace.id, marketplace.carrierMap);
    const carrier = await resolveCarrier(shipment.carrier, carriers);
    const plan = dispatchRequests(shipment, carrier, marketplace.multiShipment);
    if (!plan.ok) throw new PermanentError(plan.reason, { exceptionType: 'carrier.unknown' });
    const client = await deps.mirakl(marketplace.id);
    for (const request of plan.requests) {
      try {
        await sendMiraklRequest(client, request);
      } catch (error) {
        // OR23 just succeeded, so the order is SHIPPING or later: ORDER_INVALID_STATE on OR24 means it is shipped
        // already (a person did it, or our earlier attempt's answer was lost). Done.
        // Likewise ST01 (sent once, never retried in-process) refused because the order is shipped: a retry of
        // our own shipment whose answer was lost.
        if ((request.operation === 'OR24' && isOrderStateConflict(error)) || (request.operation === 'ST01' && isShippedAlready(error))) {
          deps.log.info('order already shipped; nothing to do', { marketplace: marketplace.id, orderId: shipment.orderId });
          continue;
        }
        if (error instanceof ShipmentRejected || (error instanceof HttpError && !error.retryable)) {
          throw new PermanentError(error.message, { cause: error });
        }
        throw error;
      }
    }
  }

  return {
    async deliverOne(event) {
      if (event.detailType !== 'Shipment Dispatched') return;
      await dispatch(event);
    },
  };
}
