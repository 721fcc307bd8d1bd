/**
 * Business events for Klaviyo tests, produced by the real normaliser from OR11-shaped orders, so the connector is
 * tested on what the poller actually publishes: a confirmed order, its shipment, a refund, a line cancellation and
 * an incident, for both sandbox marketplaces.
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { type Config, marketplaceById, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import type { BusinessEvent } from '../../functions/shared/events';
import { type OrderSnapshot, orderFacts } from '../../functions/shared/ingest/orderFacts';
import { rawOrder, updated, withLines } from './miraklOrders';

export const KLAVIYO_TEST_KEY = 'pk_test_0123456789abcdef';

export function klaviyoConfig(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    ...sandboxConfigInput,
    connectors: { klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo', ...overrides } },
  });
}

/** Every Klaviyo-routed fact of one order's life on `marketplace`, in business order. */
export function orderLifeEvents(
  marketplace: 'debenhams' | 'decathlon',
  orderId: string,
  options: { backfill?: boolean; customerId?: string; lines?: number } = {},
): BusinessEvent[] {
  const config = klaviyoConfig();
  const ctx = { marketplace: marketplaceById(config, marketplace), component: 'test', backfill: options.backfill };
  const base = rawOrder(orderId, { order_state: 'SHIPPING' }, options.lines ?? 2);
  if (options.customerId) (base.customer as Record<string, unknown>).customer_id = options.customerId;
  const shipped = withLines(
    updated(base, '2026-11-21T08:00:00Z', {
      order_state: 'SHIPPED',
      shipping_carrier_code: 'RM',
      shipping_company: 'Royal Mail',
      shipping_tracking: 'RM123456789GB',
      shipping_tracking_url: 'https://track.example/RM123456789GB',
    }),
    () => ({ order_line_state: 'SHIPPED', shipped_date: '2026-11-21T08:00:00Z' }),
  );
  const afterSales = withLines(updated(shipped, '2026-11-22T10:00:00Z', { has_incident: true }), (_, i) =>
    i === 0
      ? {
          order_line_state: 'INCIDENT_OPEN',
          refunds: [
            {
              id: `${orderId}-r1`,
              order_refund_id: 'or-1',
              amount: 25,
              shipping_amount: 1.5,
              quantity: 1,
              reason_code: '19',
              refund_state: 'REFUNDED',
              commission_total_amount: 4.8,
              created_date: '2026-11-22T09:40:41Z',
            },
          ],
        }
      : {
          cancelations: [
            {
              id: `${orderId}-c1`,
              amount: 25,
              shipping_amount: 0,
              quantity: 1,
              reason_code: '34',
              commission_total_amount: 4.8,
              created_date: '2026-11-22T09:00:00Z',
            },
          ],
        },
  );
  let snapshot: OrderSnapshot | undefined;
  const events: BusinessEvent[] = [];
  for (const read of [base, shipped, afterSales]) {
    const result = orderFacts(read, snapshot, ctx);
    if (result.exception) throw new Error(`fixture order rejected: ${result.exception.reason}`);
    snapshot = result.snapshot;
    events.push(...result.events);
  }
  return events;
}

/** The EventBridge envelope EventBridge delivers to SQS for a business event. */
export function eventBridgeEnvelope(event: BusinessEvent): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': event.detailType,
    source: event.source,
    account: '000000000000',
    time: '2026-11-22T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: event.detail,
  };
}

export function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1763805600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1763805600000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:klaviyo',
    awsRegion: 'eu-west-1',
  };
}
