/**
 * What our webhook accepts once a request is authenticated. Notifications only announce that something changed;
 * the order itself is always re-read from Mirakl, so a notification can never inject order data.
 */
import { z } from 'zod';

export const OrderChangedNotification = z
  .object({
    type: z.literal('order.changed'),
    marketplace: z.string().min(1),
    /** OR11 takes at most 100 order ids per call; a notification carries at most that many. */
    orderIds: z.array(z.string().min(1).max(128)).min(1).max(100),
  })
  .strict();

export const WebhookNotification = z.discriminatedUnion('type', [OrderChangedNotification]);
export type WebhookNotification = z.infer<typeof WebhookNotification>;
