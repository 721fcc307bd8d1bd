/**
 * What our webhook accepts once a request is authenticated. Mirakl order notifications only announce that
 * something changed: the order itself is always re-read from Mirakl, so a notification can never inject order
 * data. SFCC callbacks (shipments, stock) carry their facts, which become SFCC business events.
 */
import * as z from 'zod';

export const OrderChangedNotification = z
  .object({
    type: z.literal('order.changed'),
    marketplace: z.string().min(1),
    /** OR11 takes at most 100 order ids per call; a notification carries at most that many. */
    orderIds: z.array(z.string().min(1).max(128)).min(1).max(100),
  })
  .strict();

const isoDateTime = z.iso.datetime({ offset: true });

/**
 * SFCC (a hook or job of the brand's cartridge) reports a shipment of a marketplace order: the Mirakl order id
 * and line ids it carries as custom attributes, the carrier as the warehouse names it (mapped to a Mirakl code by
 * the dispatch side), the tracking number. Published as `Shipment Dispatched`.
 */
export const ShipmentDispatchedNotification = z
  .object({
    type: z.literal('shipment.dispatched'),
    marketplace: z.string().min(1),
    orderId: z.string().min(1).max(128),
    shipmentId: z.string().min(1).max(128),
    carrier: z.string().min(1).max(200),
    trackingNumber: z.string().min(1).max(200),
    trackingUrl: z.url().nullable().default(null),
    occurredAt: isoDateTime,
    lines: z.array(z.object({ lineId: z.string().min(1).max(128), quantity: z.number().int().positive() }).strict()).min(1).max(1000),
  })
  .strict();

/**
 * SFCC reports new available-to-sell for some products; `id` is the change's own id (the deduplication key).
 * Published as one `Stock Changed` per marketplace (those listed, or every configured one).
 */
export const StockChangedNotification = z
  .object({
    type: z.literal('stock.changed'),
    id: z.string().min(1).max(128),
    occurredAt: isoDateTime,
    marketplaces: z.array(z.string().min(1)).min(1).optional(),
    items: z.array(z.object({ productId: z.string().min(1).max(256), availableToSell: z.number().nonnegative() }).strict()).min(1).max(1000),
  })
  .strict();

export const WebhookNotification = z.discriminatedUnion('type', [
  OrderChangedNotification,
  ShipmentDispatchedNotification,
  StockChangedNotification,
]);
export type WebhookNotification = z.infer<typeof WebhookNotification>;
