/**
 * The in-process custom event bus: takes PutEvents entries, wraps each as the event EventBridge delivers to a rule
 * target, keeps an event log (memory + JSONL file) and routes by event pattern to the connector queues.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';
import { matchesPattern } from './pattern';
import { systemClock, type Clock } from './queue';

/** The event JSON a rule delivers (and an SQS target receives as the message body). */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface LoggedEvent {
  event: BusEvent;
  /** Names of the rules (connectors) the event was routed to. */
  routedTo: string[];
}

/** A PutEvents entry once validated by the emulator: Detail already parsed to an object. */
export interface BusEntry {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  resources?: string[];
  /** Epoch milliseconds; EventBridge uses the time of the call when absent. */
  time?: number;
}

export interface BusRule {
  name: string;
  pattern: object;
  deliver(eventJson: string): void;
}

export interface LocalBusOptions {
  name: string;
  /** JSONL file the event log is written to (truncated at start: the embedded store starts empty too). */
  logFile?: string;
  /** Events kept in memory; the file keeps all of them. */
  memoryLimit?: number;
  clock?: Clock;
}

/** EventBridge event time: ISO 8601 to the second. */
function eventTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export class LocalBus {
  readonly name: string;
  readonly arn: string;
  readonly logFile?: string;
  private readonly rules: BusRule[] = [];
  private readonly memory: LoggedEvent[] = [];
  private readonly memoryLimit: number;
  private readonly clock: Clock;
  private total = 0;
  /** Counts by marketplace then detail type, for the live summary and the console (no personal data). */
  private readonly counts = new Map<string, Map<string, number>>();

  constructor(options: LocalBusOptions) {
    this.name = options.name;
    this.arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${options.name}`;
    this.logFile = options.logFile;
    this.memoryLimit = options.memoryLimit ?? 10_000;
    this.clock = options.clock ?? systemClock;
    if (this.logFile) {
      mkdirSync(dirname(this.logFile), { recursive: true });
      writeFileSync(this.logFile, '');
    }
  }

  addRule(rule: BusRule): void {
    // Fail at start on a pattern the matcher cannot evaluate, not on the first event.
    matchesPattern(rule.pattern, { source: '', 'detail-type': '', detail: {} });
    this.rules.push(rule);
  }

  /** Accepts one entry: logs it, delivers it to every matching rule, returns the event id. */
  publish(entry: BusEntry): string {
    const now = this.clock.now();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.detailType,
      source: entry.source,
      account: LOCAL_ACCOUNT,
      time: eventTime(entry.time ?? now),
      region: LOCAL_REGION,
      resources: entry.resources ?? [],
      detail: entry.detail,
    };
    const json = JSON.stringify(event);
    const routedTo: string[] = [];
    for (const rule of this.rules) {
      if (matchesPattern(rule.pattern, event)) {
        rule.deliver(json);
        routedTo.push(rule.name);
      }
    }
    const logged: LoggedEvent = { event, routedTo };
    this.memory.push(logged);
    if (this.memory.length > this.memoryLimit) this.memory.shift();
    this.total += 1;
    const marketplace = typeof entry.detail.marketplace === 'string' ? entry.detail.marketplace : '(none)';
    const byType = this.counts.get(marketplace) ?? new Map<string, number>();
    byType.set(entry.detailType, (byType.get(entry.detailType) ?? 0) + 1);
    this.counts.set(marketplace, byType);
    if (this.logFile) appendFileSync(this.logFile, `${JSON.stringify(logged)}\n`);
    return event.id;
  }

  /** The most recent events (all of them up to the memory limit). */
  events(): readonly LoggedEvent[] {
    return this.memory;
  }

  totalEvents(): number {
    return this.total;
  }

  /** `{ marketplace: { detailType: count } }` since start. */
  countsByMarketplace(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.counts].map(([mp, byType]) => [mp, Object.fromEntries(byType)]));
  }
}
