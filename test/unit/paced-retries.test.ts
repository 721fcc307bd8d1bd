/**
 * A repeat after a 429 or a 5xx is a request the destination counts, so every attempt takes its own pacer turn:
 * Klaviyo's connector and SFCC's orders client (SFMC's and Dotdigital's are held in their own tests).
 */
import { afterEach, expect, it } from 'vitest';
import { type Config } from '../../functions/shared/config';
import { createHttpClient } from '../../functions/shared/http';
import { createKlaviyoConnector } from '../../functions/shared/klaviyo/connector';
import type { SfccTokens } from '../../functions/shared/sfcc/auth';
import { createSfccOrdersClient } from '../../functions/shared/sfcc/client';
import { type KlaviyoSandbox, startKlaviyoSandbox } from '../../local/sandboxes/klaviyo';
import { fakeFetch, jsonResponse, textResponse } from '../support/fakeFetch';
import { KLAVIYO_TEST_KEY, klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';
import { sfccConfig } from '../support/sfccFixtures';

const quickHttp = (fetch?: typeof globalThis.fetch) => createHttpClient({ sleep: async () => undefined, ...(fetch ? { fetch } : {}) });
const countingPacer = () => {
  const turns: string[] = [];
  return { turns, pacer: { take: async (operation: string) => void turns.push(operation) } as never };
};

let sandbox: KlaviyoSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

it('Klaviyo: every request the sandbox receives, refused ones included, took a pacer turn', async () => {
  sandbox = await startKlaviyoSandbox({ apiKeys: [KLAVIYO_TEST_KEY] });
  const { turns, pacer } = countingPacer();
  const connector = createKlaviyoConnector({ config: klaviyoConfig({ baseUrl: sandbox.url }) as Config, http: quickHttp(), apiKey: async () => KLAVIYO_TEST_KEY, pacer });
  sandbox.inject({ kind: 'status', status: 429, times: 2 });
  await connector.deliverOne(orderLifeEvents('debenhams', 'PR1-A')[0]!);
  expect(sandbox.requests.filter((r) => r.status === 429)).toHaveLength(2);
  expect(turns).toHaveLength(sandbox.requests.length);
});

it('SFCC: a create refused with 429 and a read answered 503 take a turn per attempt', async () => {
  const { turns, pacer } = countingPacer();
  const fake = fakeFetch([textResponse('', 429, { 'retry-after': '1' }), jsonResponse({}, 201), textResponse('', 503), jsonResponse({ orderNo: 'PR2-A' })]);
  const tokens = { get: async () => 'token', invalidate: () => undefined } as unknown as SfccTokens;
  const client = createSfccOrdersClient({ sfcc: sfccConfig().sfcc!, http: quickHttp(fake.fetch), tokens, pacer });
  await client.createOrder({ orderNo: 'PR2-A' } as never);
  await client.getOrder('PR2-A').catch(() => undefined);
  expect(fake.requests).toHaveLength(4);
  expect(turns).toEqual(['createOrders', 'createOrders', 'getOrder', 'getOrder']);
});
