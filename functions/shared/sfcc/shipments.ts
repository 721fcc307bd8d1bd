/**
 * SFCC shipments as `Shipment Dispatched` events, for the dispatch side (PRODUCT.md promise 9) when SFCC does not
 * call the webhook: a scheduled read of SCAPI getOrders (modified since a cursor, shipped or part shipped, oldest
 * first), keeping marketplace orders (they carry the Mirakl order id attribute) and their shipments marked shipped
 * with a tracking number.
 *
 * SCAPI shipments have a tracking number but no carrier: the warehouse integration writes the carrier to a shipment
 * custom attribute (`attributes.shipmentCarrier`); without one the shipping method stands in, and the dispatch side
 * turns a carrier it cannot map into a `carrier.unknown` exception. A shipment's lines are its product items, by
 * their Mirakl line id attribute.
 */
import type { SfccConfig } from '../config';
import { type BusinessEvent, businessEvent, eventIds, SCHEMA_VERSION } from '../events';
import type { HttpClient } from '../http';
import { SfccTokens, sfccHosts } from './auth';
import { withToken } from './client';
import { ORDERS_OFFSET_LIMIT, ORDERS_PAGE_MAX, OrdersResponseSchema, type ScapiOrder } from './scapi';

export interface DispatchedPage {
  events: BusinessEvent<'Shipment Dispatched'>[];
  /** The latest modification time read: the next read starts there (getOrders filters inclusively). */
  cursor: string | undefined;
  /** False when SCAPI's offset limit (10,000) stopped the read: read again from `cursor`. */
  complete: boolean;
}

export interface ShipmentsReader {
  dispatchedSince(from: string): Promise<DispatchedPage>;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/** The dispatch events of one SCAPI order (none when it is not a marketplace order). */
export function dispatchedShipments(order: ScapiOrder, attributes: SfccConfig['attributes']): BusinessEvent<'Shipment Dispatched'>[] {
  const orderId = text(order[attributes.miraklOrderId]);
  const marketplace = text(order[attributes.marketplace]);
  if (!orderId || !marketplace) return [];
  return (order.shipments ?? []).flatMap((shipment) => {
    const carrier = text(shipment[attributes.shipmentCarrier]) ?? shipment.shippingMethod?.id;
    if (shipment.shippingStatus !== 'shipped' || !shipment.trackingNumber || !carrier) return [];
    const lines = (order.productItems ?? []).flatMap((item) => {
      const lineId = text(item[attributes.lineId]);
      return item.shipmentId === shipment.shipmentId && lineId ? [{ lineId, quantity: Math.round(item.quantity ?? 1) }] : [];
    });
    if (lines.length === 0) return [];
    const eventId = eventIds.shipmentDispatched(marketplace, orderId, shipment.shipmentId);
    return [
      businessEvent('Shipment Dispatched', {
        schemaVersion: SCHEMA_VERSION,
        eventId,
        marketplace,
        occurredAt: order.lastModified ?? new Date().toISOString(),
        orderId,
        shipmentId: shipment.shipmentId,
        carrier,
        trackingNumber: shipment.trackingNumber,
        trackingUrl: text(shipment[attributes.shipmentTrackingUrl]) ?? null,
        lines,
      }),
    ];
  });
}

export function createShipmentsReader(deps: {
  sfcc: SfccConfig;
  http: HttpClient;
  secret(field: string): Promise<string>;
  tokens?: SfccTokens;
}): ShipmentsReader {
  const { sfcc, http } = deps;
  const tokens = deps.tokens ?? new SfccTokens({ sfcc, http, secret: deps.secret });
  const url = sfccHosts(sfcc).orders;

  return {
    async dispatchedSince(from) {
      const events: BusinessEvent<'Shipment Dispatched'>[] = [];
      let cursor: string | undefined;
      for (let offset = 0; offset + ORDERS_PAGE_MAX <= ORDERS_OFFSET_LIMIT; offset += ORDERS_PAGE_MAX) {
        const response = await withToken(http, tokens, 'am', {
          operation: 'sfcc.getOrders',
          method: 'GET',
          url,
          query: {
            siteId: sfcc.siteId,
            lastModifiedDateFrom: from,
            shippingStatus: ['shipped', 'part_shipped'],
            sortBy: 'last_modified_date',
            sortOrder: 'asc',
            limit: ORDERS_PAGE_MAX,
            offset,
          },
        });
        const page = OrdersResponseSchema.parse(response.json).data;
        for (const order of page) {
          events.push(...dispatchedShipments(order, sfcc.attributes));
          if (order.lastModified && (!cursor || order.lastModified > cursor)) cursor = order.lastModified;
        }
        if (page.length < ORDERS_PAGE_MAX) return { events, cursor, complete: true };
      }
      return { events, cursor, complete: false };
    },
  };
}
