/**
 * The Mirakl order writes of the commerce loop as data: connectors decide which to make (pure), `plan` prints them, and
 * `sendMiraklRequest` makes them through the Mirakl client. One description per operation, so what `plan` shows is
 * what the connector sends.
 */
import type { LineDecision, MiraklClient, ShipmentInput, TrackingInfo } from '../mirakl/client';

export type MiraklRequest =
  | { operation: 'OR21'; orderId: string; lines: LineDecision[] }
  | { operation: 'OR23'; orderId: string; tracking: TrackingInfo }
  | { operation: 'OR24'; orderId: string }
  | { operation: 'ST01'; shipments: ShipmentInput[] };

/** Method, path and body as the seller API receives them. */
export function describeMiraklRequest(request: MiraklRequest): { method: string; path: string; body?: unknown } {
  const order = (orderId: string, action: string) => `/api/orders/${encodeURIComponent(orderId)}/${action}`;
  switch (request.operation) {
    case 'OR21':
      return { method: 'PUT', path: order(request.orderId, 'accept'), body: { order_lines: request.lines } };
    case 'OR23':
      return { method: 'PUT', path: order(request.orderId, 'tracking'), body: request.tracking };
    case 'OR24':
      return { method: 'PUT', path: order(request.orderId, 'ship') };
    case 'ST01':
      return { method: 'POST', path: '/api/shipments', body: { shipments: request.shipments } };
  }
}

export async function sendMiraklRequest(client: MiraklClient, request: MiraklRequest): Promise<void> {
  switch (request.operation) {
    case 'OR21':
      return client.acceptOrder(request.orderId, request.lines);
    case 'OR23':
      return client.updateTracking(request.orderId, request.tracking);
    case 'OR24':
      return client.shipOrder(request.orderId);
    case 'ST01': {
      const result = await client.createShipments(request.shipments);
      if (result.shipment_errors.length > 0) throw new ShipmentRejected(result.shipment_errors.map((e) => e.message ?? 'rejected'));
    }
  }
}

/** ST01 answers 201 even when it rejects shipments; the rejection is in `shipment_errors`. */
export class ShipmentRejected extends Error {
  override readonly name = 'ShipmentRejected';

  constructor(readonly reasons: readonly string[]) {
    super(`ST01 rejected ${reasons.length} shipment(s): ${reasons.join('; ')}`);
  }
}
