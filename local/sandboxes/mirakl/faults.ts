/**
 * Faults the sandbox can be told to produce, so clients are tested against what production does to them:
 * rate limiting with `Retry-After`, 5xx (including proxy HTML pages), failures in the middle of a pagination,
 * dropped connections and slow responses. Each rule fires a given number of times, in the order it was added.
 * A dropped connection or a slow answer may come after Mirakl applied the request (`afterEffect`): the write is
 * done, only its answer is lost or late, so a client's retry meets the state its first attempt left.
 */
export type MiraklOperation = 'OR11' | 'OR13' | 'OR14' | 'OR15' | 'OR21' | 'OR23' | 'OR24' | 'ST01' | 'SH21' | 'STO01' | 'STO02' | 'STO03' | 'OF21' | 'V01';
export type FaultStatus = 429 | 500 | 502 | 503;

export interface StatusFault {
  /** Only this operation; every operation when omitted. */
  operation?: MiraklOperation;
  status: FaultStatus;
  /** Sent as `Retry-After` seconds on 429 (default 1) and, when given, on 503. */
  retryAfterSeconds?: number;
  times: number;
}

export interface PageFault {
  operation: 'OR11';
  /** Fails only the page requested at this `offset`. */
  offset: number;
  status: FaultStatus;
  retryAfterSeconds?: number;
  times: number;
}

export interface ConnectionFault {
  operation?: MiraklOperation;
  times: number;
  /** The socket is destroyed once the request was applied, instead of before it is read. */
  afterEffect?: boolean;
}

export interface DelayFault {
  operation?: MiraklOperation;
  ms: number;
  times: number;
  /** The answer is held after the request was applied, instead of before it is handled. */
  afterEffect?: boolean;
}

/** What the server must do to one request. */
export type FaultAction =
  | { kind: 'status'; status: FaultStatus; retryAfterSeconds?: number }
  | { kind: 'reset'; afterEffect: boolean };

export interface Delay {
  ms: number;
  afterEffect: boolean;
}

interface Rule {
  kind: 'status' | 'reset' | 'delay';
  operation?: MiraklOperation;
  offset?: number;
  status?: FaultStatus;
  retryAfterSeconds?: number;
  ms?: number;
  afterEffect?: boolean;
  remaining: number;
}

export class MiraklFaults {
  private rules: Rule[] = [];

  inject(fault: StatusFault): void {
    this.add({ kind: 'status', operation: fault.operation, status: fault.status, retryAfterSeconds: fault.retryAfterSeconds, remaining: fault.times });
  }

  failPage(fault: PageFault): void {
    this.add({
      kind: 'status',
      operation: fault.operation,
      offset: fault.offset,
      status: fault.status,
      retryAfterSeconds: fault.retryAfterSeconds,
      remaining: fault.times,
    });
  }

  resetConnection(fault: ConnectionFault): void {
    this.add({ kind: 'reset', operation: fault.operation, afterEffect: fault.afterEffect, remaining: fault.times });
  }

  delay(fault: DelayFault): void {
    this.add({ kind: 'delay', operation: fault.operation, ms: fault.ms, afterEffect: fault.afterEffect, remaining: fault.times });
  }

  clear(): void {
    this.rules = [];
  }

  /** Faults that have not fired their full count yet. */
  pending(): number {
    return this.rules.reduce((n, rule) => n + rule.remaining, 0);
  }

  /** How long to hold the response, and whether after applying the request; consumes one matching delay rule. */
  takeDelay(operation: MiraklOperation, offset: number | undefined): Delay | undefined {
    const rule = this.rules.find((r) => r.kind === 'delay' && applies(r, operation, offset));
    if (!rule) return undefined;
    this.consume(rule);
    return { ms: rule.ms ?? 0, afterEffect: rule.afterEffect ?? false };
  }

  /** The failure to answer with, if any; consumes one matching reset or status rule (first added wins). */
  takeFailure(operation: MiraklOperation, offset: number | undefined): FaultAction | undefined {
    const rule = this.rules.find((r) => r.kind !== 'delay' && applies(r, operation, offset));
    if (!rule) return undefined;
    this.consume(rule);
    if (rule.kind === 'reset') return { kind: 'reset', afterEffect: rule.afterEffect ?? false };
    return { kind: 'status', status: rule.status as FaultStatus, retryAfterSeconds: rule.retryAfterSeconds };
  }

  private add(rule: Rule): void {
    if (!Number.isInteger(rule.remaining) || rule.remaining < 1) throw new Error('fault `times` must be a positive integer');
    this.rules.push(rule);
  }

  private consume(rule: Rule): void {
    rule.remaining -= 1;
    if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
  }
}

function applies(rule: Rule, operation: MiraklOperation, offset: number | undefined): boolean {
  if (rule.operation && rule.operation !== operation) return false;
  if (rule.offset !== undefined && rule.offset !== (offset ?? 0)) return false;
  return true;
}
