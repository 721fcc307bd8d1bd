/**
 * Usage of the redrive, reconcile and report commands: clear errors (exit 2) before anything touches AWS; `--stack`
 * picks the deployment whose queues redrive moves (connectorQueueNames), the default stack's by default.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, type SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { type Output, UsageError } from '../../cli/io';
import { main } from '../../cli/main';
import { redrive } from '../../cli/redrive';
import { report } from '../../cli/report';

async function run(...argv: string[]) {
  const errors: string[] = [];
  const out: Output = { line: () => undefined, error: (m) => errors.push(m) };
  return { code: await main(argv, out), errors };
}

describe('operations commands refuse bad usage', () => {
  it('redrive needs a known connector and a rate SQS accepts', async () => {
    expect(await run('redrive')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge redrive \[--stack STACK\] --connector NAME[\s\S]*klaviyo/)] });
    expect((await run('redrive', '--connector', 'mailchimp')).code).toBe(2);
    expect(await run('redrive', '--connector', 'klaviyo', '--max-per-second', '501')).toMatchObject({ code: 2, errors: [expect.stringMatching(/1 to 500/)] });
  });

  it('reconcile needs a marketplace and a start date it can read', async () => {
    expect(await run('reconcile', '--marketplace', 'debenhams')).toMatchObject({ code: 2, errors: [expect.stringMatching(/--marketplace and --since are required/)] });
    expect(await run('reconcile', '--marketplace', 'nowhere', '--since', '2026-11-01')).toMatchObject({ code: 2, errors: [expect.stringMatching(/unknown marketplace "nowhere"/)] });
    expect(await run('reconcile', '--marketplace', 'debenhams', '--since', 'last tuesday')).toMatchObject({ code: 2, errors: [expect.stringMatching(/--since must be a date/)] });
  });

  it('report needs --week, and exceptions an action', async () => {
    expect(await run('report')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge report --week/)] });
    expect(await run('exceptions', 'purge')).toMatchObject({ code: 2, errors: [expect.stringMatching(/usage: marketbridge exceptions list/)] });
  });
});

/** SQS with the given queues (name → ARN); records the queue names asked for. */
function fakeSqs(queues: Record<string, string>) {
  const asked: string[] = [];
  const client = {
    send: async (command: unknown) => {
      if (command instanceof GetQueueUrlCommand) {
        const name = command.input.QueueName!;
        asked.push(name);
        if (!queues[name]) throw new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
        return { QueueUrl: `https://sqs.local/${name}` };
      }
      if (command instanceof GetQueueAttributesCommand) {
        const name = command.input.QueueUrl!.split('/').pop()!;
        return { Attributes: { QueueArn: queues[name], ApproximateNumberOfMessages: '3' } };
      }
      if (command instanceof StartMessageMoveTaskCommand) return { TaskHandle: `task-for-${command.input.SourceArn}` };
      throw new Error(`unexpected ${(command as object).constructor.name}`);
    },
  } as unknown as SQSClient;
  return { client, asked };
}

describe('redrive --stack', () => {
  const arn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:${name}`;
  const queues = { 'marketbridge-klaviyo-dlq': arn('marketbridge-klaviyo-dlq'), 'marketbridge-staging-klaviyo-dlq': arn('marketbridge-staging-klaviyo-dlq') };
  it('moves the default stack\'s DLQ without --stack, and the named stack\'s with it', async () => {
    for (const [args, dlq, stack] of [
      [[], 'marketbridge-klaviyo-dlq', 'MarketBridge'],
      [['--stack', 'MarketBridge-staging'], 'marketbridge-staging-klaviyo-dlq', 'MarketBridge-staging'],
    ] as const) {
      const sqs = fakeSqs(queues);
      const lines: unknown[] = [];
      const code = await redrive([...args, '--connector', 'klaviyo', '--no-wait'], { line: (v) => lines.push(v), error: () => undefined }, undefined, () => sqs.client);
      expect(code).toBe(0);
      expect(sqs.asked).toEqual([dlq]);
      expect(lines).toEqual([{ stack, connector: 'klaviyo', started: true, dlqArn: arn(dlq), toMove: 3 }]);
    }
  });

  it('refuses, naming the queue and the stack, when the stack has no such queue', async () => {
    const sqs = fakeSqs(queues);
    const started = redrive(['--stack', 'MarketBridge-prod', '--connector', 'klaviyo'], { line: () => undefined, error: () => undefined }, undefined, () => sqs.client);
    await expect(started).rejects.toBeInstanceOf(UsageError);
    await expect(started).rejects.toThrow(
      /queue "marketbridge-prod-klaviyo-dlq" does not exist in this account and region: is MarketBridge-prod the deployment's stack \(--stack\), with klaviyo enabled, in this region\?/,
    );
  });

  it('shows --stack in the usage, and report takes it too', async () => {
    expect((await run('redrive')).errors[0]).toMatch(/--stack STACK[\s\S]*default MarketBridge/);
    const stacks: string[] = [];
    const refused = report(['--week', '--stack', 'MarketBridge-staging'], { line: () => undefined, error: () => undefined }, undefined, (_config, stack) => {
      stacks.push(stack);
      throw new Error('no AWS in this test');
    });
    await expect(refused).rejects.toThrow('no AWS in this test');
    expect(stacks).toEqual(['MarketBridge-staging']);
  });
});
