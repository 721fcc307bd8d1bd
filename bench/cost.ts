/**
 * Modelled AWS cost per million orders, from the request counts the benchmarks measure and AWS's published prices.
 * Only what grows with orders is counted: the per-poll schedule (one OR11 poll a minute per marketplace, whatever the
 * volume), alarms, the dashboard and SQS long polling by idle event source mappings are fixed monthly costs.
 */

/**
 * Public on-demand list prices, US East (N. Virginia), USD, from the AWS pricing pages below (DynamoDB on-demand
 * after its November 2024 reduction); other regions differ by a few percent. UNVERIFIED against AWS's own text as
 * of 2026-11-22: those pages render their price tables client-side, so the stored copies we can read lack the
 * figures. Each value was checked that day against third-party pricing guides quoting us-east-1 (named per price);
 * all agree. Re-read the AWS pages before quoting the cost model.
 */
export const AWS_PRICES = {
  /** https://aws.amazon.com/lambda/pricing/ — Arm (the stack's architecture), first tier; cloudchipr.com 2024, artillery's price table. */
  lambdaPerGbSecond: 0.0000133334,
  /** Per request; the AWS page's own Managed Instances line and worked examples say $0.20 per million. */
  lambdaPerRequest: 0.2 / 1e6,
  /** https://aws.amazon.com/sqs/pricing/ — standard queues, per 64 KB request chunk; cloudburn.io 2026-03. */
  sqsPerRequest: 0.4 / 1e6,
  /** https://aws.amazon.com/eventbridge/pricing/ — custom events, per 64 KB chunk; cloudburn.io 2026-03. */
  eventBridgePerEvent: 1.0 / 1e6,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/ — per write / read request unit; airbyte.com 2025-07. */
  dynamoPerWriteUnit: 0.625 / 1e6,
  dynamoPerReadUnit: 0.125 / 1e6,
  /** https://aws.amazon.com/cloudwatch/pricing/ — logs ingestion (standard class), per GB; c3x.dev 2026-06. */
  logsPerGb: 0.5,
} as const;

/** What the model assumes beyond the measured counts; each is a knob, stated so it can be argued with. */
export const COST_ASSUMPTIONS = {
  /** Memory of the connector Lambdas (MarketBridgeFunction's default). */
  memoryGb: 0.5,
  /** A destination API call's round trip as the Lambda waits for it (billed duration). */
  msPerDownstreamCall: 150,
  /** Per invocation: parse, idempotency records, EMF flush. */
  msPerInvocation: 40,
  /** Live records per Lambda batch (SQS batch size 10; history loads use 500, so live is the expensive case). */
  recordsPerBatch: 10,
  /** Idempotency per delivery: a conditional put (INPROGRESS) and an update (COMPLETED), each under 1 KB. */
  writeUnitsPerDelivery: 2,
  /** Poller per order: the snapshot read (batch get) and its conditional save (a snapshot is 1-2 KB). */
  pollerReadUnitsPerOrder: 0.5,
  pollerWriteUnitsPerOrder: 2,
  /** Log lines per delivery at INFO ("delivered" with ids, no payload). */
  logBytesPerDelivery: 400,
} as const;

export interface ConnectorTraffic {
  /** Business events the connector receives per order (facts routed to it). */
  deliveriesPerOrder: number;
  /** Downstream API calls it makes per order, live. */
  callsPerOrder: number;
}

export interface CostModel {
  usdPerMillionOrders: number;
  breakdown: Record<string, number>;
}

/** `eventsPerOrder`: business facts published per order; `connectors`: what each enabled connector does per order. */
export function modelCost(eventsPerOrder: number, connectors: Readonly<Record<string, ConnectorTraffic>>): CostModel {
  const p = AWS_PRICES;
  const a = COST_ASSUMPTIONS;
  const orders = 1e6;
  const deliveries = Object.values(connectors).reduce((n, c) => n + c.deliveriesPerOrder, 0) * orders;
  const calls = Object.values(connectors).reduce((n, c) => n + c.callsPerOrder, 0) * orders;
  const invocations = deliveries / a.recordsPerBatch;
  const gbSeconds = ((invocations * a.msPerInvocation + calls * a.msPerDownstreamCall) / 1000) * a.memoryGb;
  const breakdown = {
    eventBridge: eventsPerOrder * orders * p.eventBridgePerEvent,
    // Per delivery: the rule's SendMessage, plus a share of the batch's receive and delete.
    sqs: deliveries * (1 + 2 / a.recordsPerBatch) * p.sqsPerRequest,
    lambda: invocations * p.lambdaPerRequest + gbSeconds * p.lambdaPerGbSecond,
    dynamoDb:
      (deliveries * a.writeUnitsPerDelivery + orders * a.pollerWriteUnitsPerOrder) * p.dynamoPerWriteUnit +
      orders * a.pollerReadUnitsPerOrder * p.dynamoPerReadUnit,
    logs: ((deliveries * a.logBytesPerDelivery) / 1024 ** 3) * p.logsPerGb,
  };
  const round = (usd: number) => Math.round(usd * 100) / 100;
  return {
    usdPerMillionOrders: round(Object.values(breakdown).reduce((sum, usd) => sum + usd, 0)),
    breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, round(v)])),
  };
}
