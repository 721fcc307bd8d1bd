import { describe, expect, it } from 'vitest';
import { sandboxConfig } from '../../functions/shared/config';
import { MemoryState } from '../../functions/shared/ingest/memory';
import { acceptWebhook, type WebhookRequest } from '../../functions/shared/webhook/acceptWebhook';
import { signWebhook } from '../../functions/shared/webhook/signature';

const SECRET = 'test-signing-secret-not-real';
const NOW_MS = Date.parse('2026-11-22T12:00:00Z');
const nowSeconds = Math.floor(NOW_MS / 1000);

function setup() {
  const pending = new MemoryState();
  const warnings: Record<string, unknown>[] = [];
  const deps = {
    config: sandboxConfig,
    signingSecret: async () => SECRET,
    pending,
    publisher: { publish: async () => undefined },
    nowMs: () => NOW_MS,
    log: { info: () => undefined, warn: (_m: string, a?: Record<string, unknown>) => warnings.push(a ?? {}) },
  };
  return { deps, pending, warnings };
}

function signed(body: string, at = nowSeconds, secret = SECRET): WebhookRequest {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...signWebhook(body, secret, at) }, rawBody: body };
}

const notification = JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: ['W1-A', 'W2-A'] });

describe('webhook decisions', () => {
  it('accepts a signed order notification and queues the ids for an OR11 re-read', async () => {
    const { deps, pending } = setup();
    const response = await acceptWebhook(signed(notification), deps);
    expect(response).toEqual({ statusCode: 202, body: { accepted: 2, rereadBy: 'next poll' } });
    expect(await pending.list('debenhams')).toEqual(['W1-A', 'W2-A']);
  });

  it.each([
    ['no signature headers', { method: 'POST', headers: {}, rawBody: notification }, 'missing-signature'],
    ['a wrong secret', signed(notification, nowSeconds, 'another-secret'), 'bad-signature'],
    ['a tampered body', { ...signed(notification), rawBody: notification.replace('W1-A', 'W9-A') }, 'bad-signature'],
    ['a stale timestamp (replay)', signed(notification, nowSeconds - 301), 'stale-timestamp'],
  ])('401 for %s, and nothing is queued', async (_name, request, reason) => {
    const { deps, pending, warnings } = setup();
    const response = await acceptWebhook(request as WebhookRequest, deps);
    expect(response.statusCode).toBe(401);
    expect(response.body.reason).toBe(reason);
    expect(await pending.list('debenhams')).toEqual([]);
    expect(warnings).toEqual([{ reason }]);
  });

  it('413 for a body over the configured limit, before any signature work', async () => {
    const { deps } = setup();
    const body = 'x'.repeat(sandboxConfig.webhook.maxBodyBytes + 1);
    const response = await acceptWebhook({ method: 'POST', headers: {}, rawBody: body }, deps);
    expect(response.statusCode).toBe(413);
    expect(response.body.message).toContain(`limit is ${sandboxConfig.webhook.maxBodyBytes}`);
  });

  it('400 for malformed JSON that is correctly signed', async () => {
    const { deps } = setup();
    const response = await acceptWebhook(signed('{"type": "order.changed",'), deps);
    expect(response.statusCode).toBe(400);
    expect(response.body.message).toMatch(/not valid JSON/);
  });

  it('400 naming the field for a notification of the wrong shape', async () => {
    const { deps } = setup();
    const response = await acceptWebhook(signed(JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: [] })), deps);
    expect(response.statusCode).toBe(400);
    expect(response.body.problems).toEqual([expect.stringContaining('orderIds')]);
  });

  it('400 for an unknown marketplace', async () => {
    const { deps } = setup();
    const response = await acceptWebhook(signed(JSON.stringify({ type: 'order.changed', marketplace: 'amazon', orderIds: ['1'] })), deps);
    expect(response).toMatchObject({ statusCode: 400, body: { message: 'unknown marketplace "amazon"' } });
  });

  it('405 for anything but POST', async () => {
    const { deps } = setup();
    expect((await acceptWebhook({ method: 'GET', headers: {}, rawBody: '' }, deps)).statusCode).toBe(405);
  });
});
