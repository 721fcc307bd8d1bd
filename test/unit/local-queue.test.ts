import { describe, expect, it, vi } from 'vitest';
import type { SQSEvent } from 'aws-lambda';
import { QueueConsumer, QueueRegistry, type Clock } from '../../local/queue';

function manualClock(start = Date.UTC(2026, 10, 22, 6)): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

function setup(maxReceiveCount = 5) {
  const clock = manualClock();
  const queues = new QueueRegistry(clock);
  const dlq = queues.create({ name: 'q-dlq', retentionSeconds: 14 * 24 * 3600 });
  const queue = queues.create({ name: 'q', visibilityTimeoutSeconds: 30, deadLetter: { queue: dlq, maxReceiveCount } });
  return { clock, queues, queue, dlq };
}

describe('local queue (SQS semantics)', () => {
  it('hides a received message for the visibility timeout, then delivers it again with a higher receive count', () => {
    const { clock, queue } = setup();
    const id = queue.send('{"a":1}');
    const [first] = queue.receive(10);
    expect(first).toMatchObject({ messageId: id, body: '{"a":1}', attributes: { ApproximateReceiveCount: '1' } });
    expect(queue.receive(10)).toEqual([]);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 1 });
    clock.advance(29_999);
    expect(queue.receive(10)).toEqual([]);
    clock.advance(1);
    const [second] = queue.receive(10);
    expect(second).toMatchObject({ messageId: id, attributes: { ApproximateReceiveCount: '2' } });
    expect(second?.receiptHandle).not.toBe(first?.receiptHandle);
  });

  it('deletes only with the current receipt handle', () => {
    const { clock, queue } = setup();
    queue.send('x');
    const [first] = queue.receive();
    clock.advance(30_000);
    const [second] = queue.receive();
    expect(() => queue.delete(first!.receiptHandle)).toThrow(/receipt handle/);
    queue.delete(second!.receiptHandle);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('moves a message to the DLQ on the receive after maxReceiveCount, keeping its id', () => {
    const { clock, queue, dlq } = setup(5);
    const id = queue.send('poison');
    for (let receive = 1; receive <= 5; receive++) {
      expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe(String(receive));
      clock.advance(30_000);
    }
    expect(queue.receive()).toEqual([]);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
    const [dead] = dlq.receive();
    expect(dead).toMatchObject({ messageId: id, body: 'poison', attributes: { DeadLetterQueueSourceArn: queue.arn } });
  });

  it('receives at most the batch size, in arrival order', () => {
    const { queue } = setup();
    const ids = Array.from({ length: 12 }, (_, i) => queue.send(String(i)));
    expect(queue.receive(10).map((m) => m.messageId)).toEqual(ids.slice(0, 10));
    expect(queue.receive(10).map((m) => m.messageId)).toEqual(ids.slice(10));
    expect(() => queue.receive(11)).toThrow();
  });

  it('drops messages past retention, counted from the original enqueue', () => {
    const clock = manualClock();
    const queue = new QueueRegistry(clock).create({ name: 'short', retentionSeconds: 60 });
    queue.send('old');
    clock.advance(60_000);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
  });

  it('redrives the DLQ back to the source queue with new message ids (StartMessageMoveTask)', async () => {
    const { clock, queues, queue, dlq } = setup(1);
    const ids = [queue.send('a'), queue.send('b')];
    queue.receive();
    clock.advance(30_000);
    expect(queue.receive()).toEqual([]);
    expect(dlq.depth().visible).toBe(2);

    const handle = queues.startMessageMoveTask({ sourceArn: dlq.arn });
    await vi.waitFor(() => expect(queues.listMessageMoveTasks(dlq.arn)[0]?.Status).toBe('COMPLETED'));
    expect(queues.listMessageMoveTasks(dlq.arn)).toEqual([
      expect.objectContaining({
        TaskHandle: handle,
        SourceArn: dlq.arn,
        ApproximateNumberOfMessagesMoved: 2,
        ApproximateNumberOfMessagesToMove: 2,
      }),
    ]);
    expect(dlq.depth().visible).toBe(0);
    const redriven = queue.receive();
    expect(redriven.map((m) => m.body)).toEqual(['a', 'b']);
    expect(redriven.map((m) => m.attributes.ApproximateReceiveCount)).toEqual(['1', '1']);
    for (const message of redriven) expect(ids).not.toContain(message.messageId);

    // A second redrive of the same messages gets yet other ids: the message id is never an idempotency key.
    clock.advance(30_000);
    queue.receive();
    queues.startMessageMoveTask({ sourceArn: dlq.arn, maxNumberOfMessagesPerSecond: 500 });
    await vi.waitFor(() => expect(queues.listMessageMoveTasks(dlq.arn)[0]?.Status).toBe('COMPLETED'));
    const again = queue.receive();
    expect(again).toHaveLength(2);
    for (const message of again) expect([...ids, ...redriven.map((m) => m.messageId)]).not.toContain(message.messageId);
    expect(queues.listMessageMoveTasks(dlq.arn, 10)).toHaveLength(2);
  });

  it('refuses a move from a queue that is not a DLQ, and a second task while one runs', () => {
    const { queues, queue, dlq } = setup();
    expect(() => queues.startMessageMoveTask({ sourceArn: queue.arn })).toThrow(/not a dead-letter queue/);
    expect(() => queues.startMessageMoveTask({ sourceArn: 'arn:aws:sqs:eu-west-1:000000000000:nope' })).toThrow(
      expect.objectContaining({ code: 'ResourceNotFoundException' }),
    );
    dlq.send('x');
    queues.startMessageMoveTask({ sourceArn: dlq.arn, maxNumberOfMessagesPerSecond: 1 });
    expect(() => queues.startMessageMoveTask({ sourceArn: dlq.arn })).toThrow(/already a message movement task/);
    queues.stop();
  });
});

describe('queue consumer (Lambda SQS event source mapping)', () => {
  function consumerSetup(handler: (event: SQSEvent) => Promise<unknown>, maxConcurrency = 2) {
    const queues = new QueueRegistry();
    const dlq = queues.create({ name: 'c-dlq' });
    // A short visibility timeout keeps retries quick in real time.
    const queue = queues.create({ name: 'c', visibilityTimeoutSeconds: 0.05, deadLetter: { queue: dlq, maxReceiveCount: 5 } });
    const consumer = new QueueConsumer({
      queue,
      functionName: 'test-connector',
      handler: async (event) => (await handler(event)) as never,
      maxConcurrency,
      pollIntervalMs: 5,
    });
    return { queue, dlq, consumer };
  }

  it('invokes the handler with Lambda-shaped SQS records and deletes a successful batch', async () => {
    const seen: SQSEvent[] = [];
    const { queue, consumer } = consumerSetup(async (event) => {
      seen.push(event);
    });
    const id = queue.send('{"detail":{}}');
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }));
    await consumer.stop();
    expect(seen[0]?.Records[0]).toMatchObject({
      messageId: id,
      body: '{"detail":{}}',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'eu-west-1',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(seen[0]?.Records[0]?.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives each concurrent invocation its own execution environment when given one per slot', async () => {
    const queues = new QueueRegistry();
    const queue = queues.create({ name: 'e', visibilityTimeoutSeconds: 5 });
    const running = new Set<number>();
    const overlaps: number[][] = [];
    const reentered: number[] = [];
    const environment = (id: number) => async () => {
      // An environment runs one invocation at a time, however many batches are waiting.
      if (running.has(id)) reentered.push(id);
      running.add(id);
      overlaps.push([...running].sort());
      await new Promise((resolve) => setTimeout(resolve, 20));
      running.delete(id);
      return { batchItemFailures: [] };
    };
    const consumer = new QueueConsumer({ queue, functionName: 'envs', handler: [environment(1), environment(2)], maxConcurrency: 2, batchSize: 1, pollIntervalMs: 2 });
    for (let i = 0; i < 6; i += 1) queue.send(`m${i}`);
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }));
    await consumer.stop();
    queues.stop();
    expect(overlaps).toContainEqual([1, 2]);
    expect(reentered).toEqual([]);
    expect(consumer.stats.failedInvocations).toBe(0);
    expect(() => new QueueConsumer({ queue, functionName: 'few', handler: [environment(3)], maxConcurrency: 2 })).toThrow(/1 execution environments for maxConcurrency 2/);
  });

  it('stops an invocation at the function timeout: nothing deleted, its environment replaced by a fresh one', async () => {
    const queues = new QueueRegistry();
    const queue = queues.create({ name: 't', visibilityTimeoutSeconds: 0.1 });
    const invocations: number[] = [];
    let created = 0;
    // Environment 0 hangs for ever (a call that never returns); every other one answers.
    const environment = async () => {
      const id = created++;
      return async () => {
        invocations.push(id);
        if (id === 0) await new Promise(() => undefined);
        return { batchItemFailures: [] };
      };
    };
    const errors: string[] = [];
    const consumer = new QueueConsumer({
      queue,
      functionName: 'hangs',
      handler: [await environment()],
      maxConcurrency: 1,
      batchSize: 1,
      pollIntervalMs: 5,
      timeoutMs: 30,
      newEnvironment: environment,
      onInvocationError: (_, error) => void errors.push(error.message),
    });
    queue.send('m');
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }), { timeout: 5000 });
    await consumer.stop();
    queues.stop();
    // The hung environment never ran again; the message was redelivered to its replacement and deleted there.
    expect(invocations).toEqual([0, 1]);
    expect(errors).toEqual(['Task timed out after 30 ms']);
    expect(consumer.stats).toMatchObject({ invocations: 2, timedOut: 1, failedRecords: 1, deletedRecords: 1 });
  });

  it('leaves a retired environment\'s slot empty until its slow replacement is ready: no batch goes to nothing', async () => {
    const queues = new QueueRegistry();
    const queue = queues.create({ name: 'slow', visibilityTimeoutSeconds: 0.02 });
    let created = 0;
    const environment = async () => {
      const id = created++;
      // Loading a fresh environment takes longer than the messages stay invisible.
      if (id > 0) await new Promise((resolve) => setTimeout(resolve, 150));
      return async () => {
        if (id === 0) await new Promise(() => undefined);
        return { batchItemFailures: [] };
      };
    };
    const consumer = new QueueConsumer({ queue, functionName: 'slow', handler: [await environment()], maxConcurrency: 1, batchSize: 1, pollIntervalMs: 2, timeoutMs: 20, newEnvironment: environment });
    for (let i = 0; i < 5; i += 1) queue.send(`m${i}`);
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }), { timeout: 5000 });
    await consumer.stop();
    queues.stop();
    // One timed-out invocation, then every batch on the replacement: none handed to a missing environment.
    expect(consumer.stats).toMatchObject({ timedOut: 1, failedInvocations: 1, deletedRecords: 5 });
    expect(created).toBe(2);
  });

  it('retries only the records named in batchItemFailures; a poison record ends in the DLQ', async () => {
    const deliveries = new Map<string, number>();
    const { queue, dlq, consumer } = consumerSetup(async (event) => {
      for (const record of event.Records) deliveries.set(record.body, (deliveries.get(record.body) ?? 0) + 1);
      return {
        batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })),
      };
    });
    queue.send('good-1');
    queue.send('poison');
    queue.send('good-2');
    consumer.start();
    await vi.waitFor(() => expect(dlq.depth().visible).toBe(1), { timeout: 5000 });
    await consumer.stop();
    expect(deliveries.get('good-1')).toBe(1);
    expect(deliveries.get('good-2')).toBe(1);
    expect(deliveries.get('poison')).toBe(5);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 });
    expect(consumer.stats).toMatchObject({ failedRecords: 5, deletedRecords: 2 });
  });

  it('retries the whole batch when the handler throws, or names an unknown record', async () => {
    let calls = 0;
    const { queue, consumer } = consumerSetup(async (event) => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      if (calls === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
      expect(event.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['3', '3']);
      return { batchItemFailures: [] };
    });
    queue.send('a');
    queue.send('b');
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }), { timeout: 5000 });
    await consumer.stop();
    expect(calls).toBe(3);
    expect(consumer.stats.failedInvocations).toBe(2);
  });

  it('never runs more batches at once than the maximum concurrency', async () => {
    let running = 0;
    let peak = 0;
    const { queue, consumer } = consumerSetup(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
    }, 2);
    for (let i = 0; i < 50; i++) queue.send(String(i));
    consumer.start();
    await vi.waitFor(() => expect(queue.depth()).toEqual({ visible: 0, inFlight: 0 }), { timeout: 5000 });
    await consumer.stop();
    expect(peak).toBe(2);
  });
});
