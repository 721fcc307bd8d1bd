/**
 * Faults the sandbox can be told to produce, so clients are tested against what production does to them:
 * rate limiting with `Retry-After`, 5xx (including proxy HTML pages), failures in the middle of a pagination,
 * dropped connections and slow responses. Each rule fires a given number of times, in the order it was added.
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
}

export interface DelayFault {
  operation?: MiraklOperation;
  ms: number;
  times: number;
}

/** What the server must do to one request. */
export type FaultAction =
  | { kind: 'status'; status: FaultStatus; retryAfterSeconds?: number }
  | { kind: 'reset' };

interface Rule {
  kind: 'status' | 'reset' | 'delay';
  operation?: MiraklOperation;
  offset?: number;
  status?: FaultStatus;
  retryAfterSeconds?: number;
  ms?: number;
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
    this.add({ kind: 'reset', operation: fault.operation, remaining: fault.times });
  }

  delay(fault: DelayFault): void {
    this.add({ kind: 'delay', operation: fault.operation, ms: fault.ms, remaining: fault.times });
  }

  clear(): void {
    this.rules = [];
  }

  /** Faults that have not fired their full count yet. */
  pending(): number {
    return this.rules.reduce((n, rule) => n + rule.remaining, 0);
  }

  /** Milliseconds to hold the response before answering; consumes one matching delay rule. */
  takeDelay(operation: MiraklOperation, offset: number | undefined): number {
    const rule = this.rules.find((r) => r.kind === 'delay' && applies(r, operation, offset));
    if (!rule) return 0;
    this.consume(rule);
    return rule.ms ?? 0;
  }

  /** The failure to answer with, if any; consumes one matching reset or status rule (first added wins). */
  takeFailure(operation: MiraklOperation, offset: number | undefined): FaultAction | undefined {
    const rule = this.rules.find((r) => r.kind !== 'delay' && applies(r, operation, offset));
    if (!rule) return undefined;
    this.consume(rule);
    if (rule.kind === 'reset') return { kind: 'reset' };
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
