/**
 * Which business events each connector consumes. The CDK stack turns these into EventBridge rules and the local
 * runtime routes with the very same patterns, so routing is defined once.
 */
import type { Config, ConnectorName } from './config';
import { type DetailType, sourceOf } from './events';

/** Marketing destinations see every fact of a purchase's life, so flows can exclude refunds and incidents. */
const MARKETING_FACTS: readonly DetailType[] = [
  'Order Confirmed',
  'Order Shipped',
  'Order Received',
  'Order Cancelled',
  'Order Refunded',
  'Order Incident Opened',
  'Order Incident Closed',
];

/** Erasure reaches every destination that holds buyer profiles (SFCC orders are finance's record and stay). */
const ERASURE: readonly DetailType[] = ['Customer Erasure Requested'];

export const CONNECTOR_ROUTES: Record<ConnectorName, readonly DetailType[]> = {
  klaviyo: [...MARKETING_FACTS, ...ERASURE],
  dotdigital: [...MARKETING_FACTS, ...ERASURE],
  sfmc: [...MARKETING_FACTS, ...ERASURE],
  'sfcc-orders': ['Order Confirmed', 'Order Cancelled', 'Order Refunded'],
  'mirakl-acceptance': ['Order Awaiting Acceptance'],
  'mirakl-stock': ['Stock Changed'],
  'mirakl-tracking': ['Shipment Dispatched'],
};

/** A connector, or `privacy`: a buyer's erasure from our own tables, consumed like any connector's events. */
export type ConsumerName = ConnectorName | 'privacy';

/** An EventBridge event pattern: exact-value lists, nested objects (the subset MarketBridge uses). */
export interface EventPattern {
  source: string[];
  'detail-type': string[];
  detail?: { marketplace: string[] };
}

/** The rule pattern for a connector: its detail types, limited to its marketplaces when configured. */
export function eventPatternFor(config: Config, connector: ConsumerName): EventPattern {
  // Our own tables hold every marketplace's buyers: the privacy consumer takes every erasure.
  const detailTypes = connector === 'privacy' ? ERASURE : CONNECTOR_ROUTES[connector];
  const marketplaces = connector === 'privacy' ? [] : (config.connectors[connector]?.marketplaces ?? []);
  const pattern: EventPattern = {
    source: [...new Set(detailTypes.map(sourceOf))].sort(),
    'detail-type': [...detailTypes],
  };
  if (marketplaces.length > 0) pattern.detail = { marketplace: [...marketplaces] };
  return pattern;
}

export function enabledConnectors(config: Config): ConnectorName[] {
  return (Object.keys(config.connectors) as ConnectorName[]).filter((name) => config.connectors[name]?.enabled);
}
