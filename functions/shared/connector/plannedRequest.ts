/**
 * A downstream request as a connector would send it, secrets masked: what `plan` prints and what the connectors'
 * request builders return. One shape for every destination, specialised by connector name and verbs.
 */
import type { BusinessEvent } from '../events';
import type { ExceptionInput } from '../exceptions';
import { classify } from './failures';

export interface PlannedRequest<Connector extends string = string, Method extends string = string> {
  connector: Connector;
  method: Method;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A `plan` output line: a request with its full URL and its path, or the exception a connector would record. */
export type PlanLine =
  | {
      kind: 'request';
      connector: string;
      method: string;
      url: string;
      path: string;
      headers: Record<string, string>;
      body: unknown;
      /** The vendor's operation code where it has them (Mirakl OR21, OR23…). */
      operation?: string;
    }
  | { kind: 'exception'; type: string; marketplace: string; ref: string; message: string };

export function requestLine(request: PlannedRequest, operation?: string): PlanLine {
  const url = new URL(request.url);
  return {
    kind: 'request',
    connector: request.connector,
    method: request.method,
    url: request.url,
    path: `${url.pathname}${url.search}`,
    headers: request.headers,
    body: request.body,
    ...(operation ? { operation } : {}),
  };
}

export function exceptionLine(exception: Pick<ExceptionInput, 'type' | 'marketplace' | 'ref' | 'reason'>): PlanLine {
  return { kind: 'exception', type: exception.type, marketplace: exception.marketplace, ref: exception.ref, message: exception.reason };
}

/** The exception a connector records when building its requests fails for an event (e.g. an unmapped SKU). */
export function failureLine(event: BusinessEvent, error: unknown): PlanLine {
  const failure = classify(error);
  const ref = 'order' in event.detail ? event.detail.order.orderId : event.id;
  return exceptionLine({ type: failure.exceptionType ?? 'delivery.failed', marketplace: event.detail.marketplace, ref, reason: failure.reason });
}
