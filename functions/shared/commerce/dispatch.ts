/**
 * Dispatch (PRODUCT.md promise 9), pure: an SFCC shipment becomes OR23 (carrier + tracking) then OR24 (shipped),
 * or one ST01 shipment when the marketplace runs multi-shipment. The carrier name must translate to a Mirakl
 * carrier code first; an unknown carrier yields no request at all, so the order is never marked shipped without
 * tracking.
 */
import type { DetailOf } from '../events';
import type { MiraklRequest } from './miraklRequests';

export interface MiraklCarrierRef {
  code: string;
  standardCode?: string;
}

export type DispatchPlan =
  | { ok: true; requests: MiraklRequest[] }
  | { ok: false; carrier: string; reason: string };

export function dispatchRequests(
  shipment: DetailOf<'Shipment Dispatched'>,
  carrier: MiraklCarrierRef | undefined,
  multiShipment: boolean,
): DispatchPlan {
  if (!carrier) {
    return {
      ok: false,
      carrier: shipment.carrier,
      reason:
        `carrier "${shipment.carrier}" has no Mirakl carrier code: map it (marketbridge mappings carrier set ` +
        `--marketplace ${shipment.marketplace} "${shipment.carrier}" CODE), then retry; the order is not marked shipped`,
    };
  }
  const tracking = {
    carrier_code: carrier.code,
    ...(carrier.standardCode ? { carrier_standard_code: carrier.standardCode } : {}),
    tracking_number: shipment.trackingNumber,
  };
  if (multiShipment) {
    return {
      ok: true,
      requests: [
        {
          operation: 'ST01',
          shipments: [
            {
              order_id: shipment.orderId,
              shipment_lines: shipment.lines.map((line) => ({ order_line_id: line.lineId, quantity: line.quantity })),
              tracking,
              shipped: true,
            },
          ],
        },
      ],
    };
  }
  return {
    ok: true,
    requests: [
      { operation: 'OR23', orderId: shipment.orderId, tracking },
      { operation: 'OR24', orderId: shipment.orderId },
    ],
  };
}
