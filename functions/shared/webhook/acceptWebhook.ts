/**
 * The webhook's decision, independent of how the request arrived (Function URL in AWS, loopback HTTP locally).
 * Order of checks: method, size (413) before reading anything, signature (401) before parsing, then JSON (400)
 * and shape (400). Accepted order notifications are queued for an OR11 re-read by the next ingest run.
 */
import type { Config } from '../config';
import { type BusinessEvent, businessEvent, eventIds, SCHEMA_VERSION } from '../events';
import type { EventPublisher, PendingOrderIds } from '../ingest/ports';
import { WebhookNotification } from './notifications';
import { verifyWebhookSignature } from './signature';

export interface WebhookRequest {
  method: string;
  headers: Record<string, string | undefined>;
  /** The body exactly as signed (decoded from base64 if the transport encoded it). */
  rawBody: string;
}

export interface WebhookResponse {
  statusCode: number;
  body: Record<string, unknown>;
}

export interface WebhookDependencies {
  config: Config;
  signingSecret(): Promise<string>;
  pending: PendingOrderIds;
  /** Puts the SFCC callbacks' events on the bus. */
  publisher: EventPublisher;
  nowMs(): number;
  log: { warn(message: string, attributes?: Record<string, unknown>): void; info(message: string, attributes?: Record<string, unknown>): void };
}

const reject = (statusCode: number, message: string, extra: Record<string, unknown> = {}): WebhookResponse => ({
  statusCode,
  body: { message, ...extra },
});

export async function acceptWebhook(request: WebhookRequest, deps: WebhookDependencies): Promise<WebhookResponse> {
  const { webhook } = deps.config;
  if (request.method.toUpperCase() !== 'POST') return reject(405, 'only POST is accepted');
  const size = Buffer.byteLength(request.rawBody, 'utf8');
  if (size > webhook.maxBodyBytes) {
    return reject(413, `body is ${size} bytes; the limit is ${webhook.maxBodyBytes}`);
  }
  const verdict = verifyWebhookSignature({
    headers: request.headers,
    rawBody: request.rawBody,
    secret: await deps.signingSecret(),
    nowMs: deps.nowMs(),
    replayWindowSeconds: webhook.replayWindowSeconds,
  });
  if (!verdict.ok) {
    deps.log.warn('webhook request rejected', { reason: verdict.reason });
    return reject(401, 'authentication failed', { reason: verdict.reason });
  }
  let json: unknown;
  try {
    json = JSON.parse(request.rawBody);
  } catch (error) {
    return reject(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = WebhookNotification.safeParse(json);
  if (!parsed.success) {
    return reject(400, 'body is not a notification MarketBridge accepts', {
      problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    });
  }
  const notification = parsed.data;
  const known = new Set(deps.config.marketplaces.map((mp) => mp.id));
  if (notification.type !== 'order.changed') {
    const named = notification.type === 'stock.changed' ? (notification.marketplaces ?? []) : [notification.marketplace];
    const unknown = named.find((id) => !known.has(id));
    if (unknown !== undefined) return reject(400, `unknown marketplace "${unknown}"`);
    const events = sfccEvents(notification, notification.type === 'stock.changed' ? (notification.marketplaces ?? [...known]) : []);
    try {
      await deps.publisher.publish(events);
    } catch (error) {
      deps.log.warn('SFCC notification not published', { type: notification.type, reason: (error as Error).message });
      // The sender retries; event ids make a retried notification harmless.
      return reject(503, 'could not publish the notification; retry later');
    }
    deps.log.info('SFCC notification published', { type: notification.type, events: events.length });
    return { statusCode: 202, body: { published: events.length } };
  }
  if (!known.has(notification.marketplace)) {
    return reject(400, `unknown marketplace "${notification.marketplace}"`);
  }
  await deps.pending.add(notification.marketplace, notification.orderIds);
  deps.log.info('order change notification queued for re-read', {
    marketplace: notification.marketplace,
    orders: notification.orderIds.length,
  });
  return { statusCode: 202, body: { accepted: notification.orderIds.length, rereadBy: 'next poll' } };
}

type SfccNotification = Exclude<WebhookNotification, { type: 'order.changed' }>;

/** The business events an SFCC callback stands for: one shipment, or one stock change per marketplace. */
function sfccEvents(notification: SfccNotification, stockMarketplaces: readonly string[]): BusinessEvent[] {
  if (notification.type === 'shipment.dispatched') {
    const { type: _type, ...shipment } = notification;
    return [
      businessEvent('Shipment Dispatched', {
        ...shipment,
        schemaVersion: SCHEMA_VERSION,
        eventId: eventIds.shipmentDispatched(shipment.marketplace, shipment.orderId, shipment.shipmentId),
      }),
    ];
  }
  return stockMarketplaces.map((marketplace) =>
    businessEvent('Stock Changed', {
      schemaVersion: SCHEMA_VERSION,
      eventId: eventIds.stockChanged(marketplace, notification.id),
      marketplace,
      occurredAt: notification.occurredAt,
      items: notification.items,
    }),
  );
}
