/**
 * In-process queues with the SQS semantics the connectors rely on (visibility timeout, receive count, redrive
 * policy to a DLQ, retention, message moves back from the DLQ with new message ids) and the Lambda SQS event
 * source mapping in front of a handler (batch size, maximum concurrency, ReportBatchItemFailures).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsError, LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';
import { lambdaContext } from './lambda';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** AWS recommends at least 5 so throttles and transient errors do not dead-letter messages early. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export interface QueueOptions {
  name: string;
  visibilityTimeoutSeconds?: number;
  retentionSeconds?: number;
  /** Redrive policy: after `maxReceiveCount` receives the next receive moves the message to `queue`. */
  deadLetter?: { queue: LocalQueue; maxReceiveCount: number };
  clock?: Clock;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    ApproximateFirstReceiveTimestamp: string;
    SenderId: string;
    DeadLetterQueueSourceArn?: string;
  };
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentAt: number;
  /** Retention counts from the original enqueue, also in the DLQ (SQS standard queues). */
  enqueuedAt: number;
  firstReceivedAt?: number;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
  deadLetterSourceArn?: string;
}

export interface QueueDepth {
  /** ApproximateNumberOfMessages */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible */
  inFlight: number;
}

const SENDER_ID = 'AIDALOCALMARKETBRIDGE';

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly deadLetter?: { queue: LocalQueue; maxReceiveCount: number };
  /** Messages in arrival order (Map keeps insertion order), which keeps delivery roughly FIFO like SQS usually is. */
  private readonly messages = new Map<string, StoredMessage>();
  private readonly receipts = new Map<string, string>();
  private readonly clock: Clock;

  constructor(options: QueueOptions) {
    if (options.deadLetter && (options.deadLetter.maxReceiveCount < 1 || options.deadLetter.maxReceiveCount > 1000)) {
      throw new Error(`queue ${options.name}: maxReceiveCount must be 1-1000`);
    }
    this.name = options.name;
    this.arn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${options.name}`;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.retentionSeconds = options.retentionSeconds ?? 4 * 24 * 3600;
    this.deadLetter = options.deadLetter;
    this.clock = options.clock ?? systemClock;
  }

  send(body: string): string {
    const now = this.clock.now();
    return this.store({
      messageId: randomUUID(),
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      sentAt: now,
      enqueuedAt: now,
      receiveCount: 0,
      visibleAt: now,
    });
  }

  private store(message: StoredMessage): string {
    this.messages.set(message.messageId, message);
    return message.messageId;
  }

  private expire(now: number): void {
    for (const message of this.messages.values()) {
      if (now - message.enqueuedAt >= this.retentionSeconds * 1000) this.forget(message);
    }
  }

  private forget(message: StoredMessage): void {
    this.messages.delete(message.messageId);
    if (message.receiptHandle) this.receipts.delete(message.receiptHandle);
  }

  /** ReceiveMessage: up to `max` visible messages; a message past maxReceiveCount moves to the DLQ instead. */
  receive(max = 10, visibilityTimeoutSeconds = this.visibilityTimeoutSeconds): ReceivedMessage[] {
    if (max < 1 || max > 10) throw new AwsError('InvalidParameterValue', 'MaxNumberOfMessages must be 1-10');
    const now = this.clock.now();
    this.expire(now);
    const received: ReceivedMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (this.deadLetter && message.receiveCount >= this.deadLetter.maxReceiveCount) {
        this.forget(message);
        this.deadLetter.queue.store({
          ...message,
          receiptHandle: undefined,
          visibleAt: now,
          deadLetterSourceArn: this.arn,
        });
        continue;
      }
      if (message.receiptHandle) this.receipts.delete(message.receiptHandle);
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityTimeoutSeconds * 1000;
      message.receiptHandle = randomBytes(24).toString('base64url');
      this.receipts.set(message.receiptHandle, message.messageId);
      received.push({
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        md5OfBody: message.md5OfBody,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
          SenderId: SENDER_ID,
          ...(message.deadLetterSourceArn ? { DeadLetterQueueSourceArn: message.deadLetterSourceArn } : {}),
        },
      });
    }
    return received;
  }

  private byReceipt(receiptHandle: string): StoredMessage {
    const id = this.receipts.get(receiptHandle);
    const message = id ? this.messages.get(id) : undefined;
    if (!message) throw new AwsError('ReceiptHandleIsInvalid', `receipt handle is not valid for ${this.name}`);
    return message;
  }

  delete(receiptHandle: string): void {
    this.forget(this.byReceipt(receiptHandle));
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): void {
    this.byReceipt(receiptHandle).visibleAt = this.clock.now() + visibilityTimeoutSeconds * 1000;
  }

  depth(): QueueDepth {
    const now = this.clock.now();
    this.expire(now);
    let visible = 0;
    for (const message of this.messages.values()) if (message.visibleAt <= now) visible += 1;
    return { visible, inFlight: this.messages.size - visible };
  }

  /**
   * Takes one visible message out for a message move. The destination gets it as a new message: new id, new
   * enqueue time and retention, receive count from zero (SQS redrive).
   */
  takeForMove(): { body: string; deadLetterSourceArn?: string } | undefined {
    const now = this.clock.now();
    this.expire(now);
    for (const message of this.messages.values()) {
      if (message.visibleAt > now) continue;
      this.forget(message);
      return { body: message.body, deadLetterSourceArn: message.deadLetterSourceArn };
    }
    return undefined;
  }
}

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

/** One StartMessageMoveTask, shaped like a ListMessageMoveTasks result entry. */
export interface MoveTask {
  TaskHandle: string;
  Status: MoveTaskStatus;
  SourceArn: string;
  DestinationArn?: string;
  MaxNumberOfMessagesPerSecond?: number;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  FailureReason?: string;
  StartedTimestamp: number;
}

/** Unthrottled moves go in slices so a large DLQ does not block the event loop. */
const UNTHROTTLED_SLICE = 100;

/** All queues of the runtime, addressable by name, ARN or URL, plus the message-move (redrive) tasks. */
export class QueueRegistry {
  private readonly queues = new Map<string, LocalQueue>();
  private readonly tasks: { task: MoveTask; timer?: NodeJS.Timeout }[] = [];

  constructor(private readonly clock: Clock = systemClock) {}

  create(options: Omit<QueueOptions, 'clock'>): LocalQueue {
    if (this.queues.has(options.name)) throw new Error(`queue ${options.name} already exists`);
    const queue = new LocalQueue({ ...options, clock: this.clock });
    this.queues.set(queue.name, queue);
    return queue;
  }

  list(): LocalQueue[] {
    return [...this.queues.values()];
  }

  /** Finds a queue by name, ARN or URL (`{endpoint}/{account}/{name}`, whatever the endpoint's host). */
  find(ref: string): LocalQueue | undefined {
    if (ref.startsWith('arn:')) return [...this.queues.values()].find((queue) => queue.arn === ref);
    if (ref.includes('://')) {
      const [account, name] = new URL(ref).pathname.split('/').filter(Boolean);
      return account === LOCAL_ACCOUNT && name ? this.queues.get(name) : undefined;
    }
    return this.queues.get(ref);
  }

  private require(ref: string): LocalQueue {
    const queue = this.find(ref);
    if (!queue) {
      throw new AwsError('ResourceNotFoundException', "The resource that you specified for the SourceArn parameter doesn't exist.");
    }
    return queue;
  }

  /** The queues whose redrive policy targets `dlq`. */
  sourcesOf(dlq: LocalQueue): LocalQueue[] {
    return this.list().filter((queue) => queue.deadLetter?.queue === dlq);
  }

  /**
   * StartMessageMoveTask: moves the DLQ's messages to `destinationArn`, or each back to the queue it was
   * dead-lettered from. One active task per queue, only DLQs of SQS queues, at most 500 messages per second.
   */
  startMessageMoveTask(input: {
    sourceArn: string;
    destinationArn?: string;
    maxNumberOfMessagesPerSecond?: number;
  }): string {
    const source = this.require(input.sourceArn);
    if (this.sourcesOf(source).length === 0) {
      throw new AwsError('UnsupportedOperation', `Source queue ${source.name} is not a dead-letter queue.`);
    }
    const destination = input.destinationArn ? this.require(input.destinationArn) : undefined;
    const rate = input.maxNumberOfMessagesPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 500)) {
      throw new AwsError('InvalidParameterValue', 'MaxNumberOfMessagesPerSecond must be an integer from 1 to 500.');
    }
    if (this.tasks.some(({ task }) => task.SourceArn === source.arn && task.Status === 'RUNNING')) {
      throw new AwsError('UnsupportedOperation', `There is already a message movement task running on ${source.name}.`);
    }
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn })).toString('base64'),
      Status: 'RUNNING',
      SourceArn: source.arn,
      ...(destination ? { DestinationArn: destination.arn } : {}),
      ...(rate ? { MaxNumberOfMessagesPerSecond: rate } : {}),
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: source.depth().visible,
      StartedTimestamp: this.clock.now(),
    };
    const entry: { task: MoveTask; timer?: NodeJS.Timeout } = { task };
    this.tasks.push(entry);
    const step = () => {
      entry.timer = undefined;
      if (task.Status !== 'RUNNING') return;
      for (let i = 0; i < (rate ? 1 : UNTHROTTLED_SLICE); i++) {
        if (task.ApproximateNumberOfMessagesMoved >= task.ApproximateNumberOfMessagesToMove) break;
        const message = source.takeForMove();
        if (!message) break;
        const target = destination ?? (message.deadLetterSourceArn ? this.find(message.deadLetterSourceArn) : undefined);
        if (!target) {
          // Put it back rather than lose it; the task fails as SQS reports an unresolvable original source.
          source.send(message.body);
          task.Status = 'FAILED';
          task.FailureReason = 'AWS.SimpleQueueService.NonExistentQueue';
          return;
        }
        target.send(message.body);
        task.ApproximateNumberOfMessagesMoved += 1;
      }
      if (task.ApproximateNumberOfMessagesMoved >= task.ApproximateNumberOfMessagesToMove || source.depth().visible === 0) {
        task.Status = 'COMPLETED';
        return;
      }
      entry.timer = setTimeout(step, rate ? 1000 / rate : 0);
    };
    entry.timer = setTimeout(step, 0);
    return task.TaskHandle;
  }

  /** ListMessageMoveTasks: the most recent tasks for a source queue, newest first (1-10). */
  listMessageMoveTasks(sourceArn: string, maxResults = 1): MoveTask[] {
    const source = this.require(sourceArn);
    if (maxResults < 1 || maxResults > 10) throw new AwsError('InvalidParameterValue', 'MaxResults must be 1-10.');
    return this.tasks
      .filter(({ task }) => task.SourceArn === source.arn)
      .map(({ task }) => ({ ...task }))
      .reverse()
      .slice(0, maxResults);
  }

  /** Stops running move tasks (runtime shutdown); messages not yet moved stay in their DLQ. */
  stop(): void {
    for (const entry of this.tasks) {
      if (entry.timer) clearTimeout(entry.timer);
      if (entry.task.Status === 'RUNNING') entry.task.Status = 'CANCELLED';
    }
  }
}

/** How long a stopping consumer waits for the batches it is running. */
export const STOP_GRACE_MS = 2_000;

export type SqsLambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

export interface ConsumerOptions {
  queue: LocalQueue;
  /**
   * The function's code: one handler shared by every concurrent invocation, or one per execution environment (as
   * many as maxConcurrency), each invocation taking an idle one, as Lambda does.
   */
  handler: SqsLambdaHandler | readonly SqsLambdaHandler[];
  functionName: string;
  /** Event source mapping BatchSize (default 10). */
  batchSize?: number;
  /** ScalingConfig.MaximumConcurrency: concurrent batches in flight (the per-destination throttle). */
  maxConcurrency?: number;
  pollIntervalMs?: number;
  /** Told about each failed invocation; the message only, never the payload (it holds personal data). */
  onInvocationError?: (functionName: string, error: Error) => void;
  /**
   * The function's timeout. An invocation still running then has failed, as in Lambda: nothing of its batch is
   * deleted, and its execution environment is retired (its code may still be awaiting a call that never returns)
   * and replaced through `newEnvironment`, as Lambda initialises a fresh one. Without it invocations run unbounded.
   */
  timeoutMs?: number;
  /** A fresh execution environment (a new module instance) for one retired by a timeout. */
  newEnvironment?: () => Promise<SqsLambdaHandler>;
}

export interface ConsumerStats {
  invocations: number;
  /** Invocations that threw, timed out or returned an invalid batch response: the whole batch is retried. */
  failedInvocations: number;
  /** Invocations stopped at the function timeout (their environments replaced). */
  timedOut: number;
  /** Records reported in batchItemFailures or part of a failed invocation. */
  failedRecords: number;
  deletedRecords: number;
}

function toRecord(message: ReceivedMessage, queue: LocalQueue): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: message.attributes,
    messageAttributes: {},
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: LOCAL_REGION,
  };
}

/** The Lambda SQS event source mapping: polls the queue and invokes the handler with batches. */
export class QueueConsumer {
  readonly stats: ConsumerStats = { invocations: 0, failedInvocations: 0, timedOut: 0, failedRecords: 0, deletedRecords: 0 };
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly batchSize: number;
  private readonly maxConcurrency: number;
  /** Handlers not running an invocation; a shared handler is always idle. */
  private readonly idle: SqsLambdaHandler[];
  private stopped = false;

  constructor(private readonly options: ConsumerOptions) {
    this.batchSize = options.batchSize ?? 10;
    this.maxConcurrency = options.maxConcurrency ?? 2;
    if (this.batchSize < 1 || this.batchSize > 10) throw new Error('batchSize must be 1-10 without a batching window');
    if (this.maxConcurrency < 1) throw new Error('maxConcurrency must be positive');
    const environments = typeof options.handler === 'function' ? undefined : options.handler;
    if (environments && environments.length < this.maxConcurrency) {
      throw new Error(`${options.functionName}: ${environments.length} execution environments for maxConcurrency ${this.maxConcurrency}`);
    }
    this.idle = environments ? [...environments] : [];
  }

  /** An environment free to take a batch: a shared handler always is; per-environment handlers when one is idle. */
  private hasIdleEnvironment(): boolean {
    return typeof this.options.handler === 'function' || this.idle.length > 0;
  }

  private take(): SqsLambdaHandler {
    const { handler } = this.options;
    return typeof handler === 'function' ? handler : (this.idle.pop() as SqsLambdaHandler);
  }

  private release(handler: SqsLambdaHandler): void {
    if (typeof this.options.handler !== 'function') this.idle.push(handler);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs ?? 50);
    this.poll();
  }

  /** Stops polling and waits for the batches in flight; their unacknowledged messages stay in the queue. */
  /**
   * Stops taking batches and gives in-flight invocations a short grace to finish. One still waiting after that
   * (a destination's Retry-After, say) is abandoned, as a Lambda killed mid-batch would be: its messages were never
   * deleted, and the queue itself ends with the runtime.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
  }

  private poll(): void {
    // A slot whose environment was retired stays empty until its replacement is ready, as in Lambda.
    while (this.inFlight.size < this.maxConcurrency && this.hasIdleEnvironment()) {
      const messages = this.options.queue.receive(this.batchSize);
      if (messages.length === 0) return;
      const handler = this.take();
      const run = this.invoke(handler, messages).then((outcome) => {
        this.inFlight.delete(run);
        if (outcome === 'timed-out') this.retire();
        else this.release(handler);
      });
      this.inFlight.add(run);
    }
  }

  /** Replaces an environment a timeout retired; until the new one is ready the function runs one fewer at once. */
  private retire(): void {
    const { newEnvironment, functionName } = this.options;
    if (typeof this.options.handler === 'function' || !newEnvironment || this.stopped) return;
    newEnvironment().then(
      (fresh) => this.idle.push(fresh),
      (error: unknown) => this.options.onInvocationError?.(functionName, error as Error),
    );
  }

  private async invoke(handler: SqsLambdaHandler, messages: ReceivedMessage[]): Promise<'done' | 'failed' | 'timed-out'> {
    const { queue, functionName, timeoutMs } = this.options;
    this.stats.invocations += 1;
    let failed: Set<string>;
    let timer: NodeJS.Timeout | undefined;
    try {
      const invocation = handler(
        { Records: messages.map((message) => toRecord(message, queue)) },
        lambdaContext(functionName, timeoutMs ?? queue.visibilityTimeoutSeconds * 1000),
      );
      const timeout = new Promise<'timed-out'>((resolve) => {
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve('timed-out'), timeoutMs).unref();
      });
      const response = await Promise.race([invocation, timeout]);
      if (response === 'timed-out') {
        // A late rejection of the abandoned invocation is not the next invocation's business.
        invocation.catch(() => undefined);
        this.stats.timedOut += 1;
        this.stats.failedInvocations += 1;
        this.stats.failedRecords += messages.length;
        this.options.onInvocationError?.(functionName, new Error(`Task timed out after ${timeoutMs} ms`));
        return 'timed-out';
      }
      failed = this.failedIds(response, messages);
    } catch (error) {
      this.stats.failedInvocations += 1;
      this.stats.failedRecords += messages.length;
      this.options.onInvocationError?.(functionName, error as Error);
      return 'failed'; // Nothing is deleted: every message of the batch becomes visible again after the timeout.
    } finally {
      clearTimeout(timer);
    }
    this.stats.failedRecords += failed.size;
    for (const message of messages) {
      if (failed.has(message.messageId)) continue;
      try {
        queue.delete(message.receiptHandle);
        this.stats.deletedRecords += 1;
      } catch {
        // The visibility timeout ran out during the invocation and another poll received it again: SQS rejects
        // the stale receipt handle the same way, and the message will be processed again (at-least-once).
      }
    }
    return 'done';
  }

  /** Lambda treats a response naming an unknown or empty itemIdentifier as a failure of the whole batch. */
  private failedIds(response: SQSBatchResponse | void | undefined, messages: ReceivedMessage[]): Set<string> {
    const failures = response?.batchItemFailures ?? [];
    const ids = new Set(messages.map((message) => message.messageId));
    const failed = new Set<string>();
    for (const failure of failures) {
      if (!failure?.itemIdentifier || !ids.has(failure.itemIdentifier)) {
        this.stats.failedInvocations += 1;
        this.options.onInvocationError?.(this.options.functionName, new Error('invalid batchItemFailures response'));
        return ids;
      }
      failed.add(failure.itemIdentifier);
    }
    return failed;
  }
}
