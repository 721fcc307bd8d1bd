/**
 * Salesforce publishes no current OpenAPI for these SFMC endpoints, so the sandbox is held to what the reference
 * documents: token shape and lifetime, bearer expiry, data extension columns and primary keys, the rowset, async
 * and journey batch limits, the 5 MB payload cap, the error envelope `{message, errorcode, documentation}` and the
 * rate-limit answer (errorcode 50100 with Retry-After) over its configured rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SFMC_MODELLED_REQUESTS_PER_MINUTE } from '../../functions/shared/config';
import { SFMC_SANDBOX_CLIENT, type SfmcSandbox, TOKEN_EXPIRES_IN, startSfmcSandbox } from '../../local/sandboxes/sfmc';

let now = Date.parse('2026-11-22T10:00:00Z');
let sandbox: SfmcSandbox;
let token: string;

const post = (path: string, body: unknown, method = 'POST', bearer = token) =>
  fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

beforeAll(async () => {
  sandbox = await startSfmcSandbox({ now: () => now });
  const response = await fetch(`${sandbox.url}/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: SFMC_SANDBOX_CLIENT.clientId, client_secret: SFMC_SANDBOX_CLIENT.clientSecret }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ token_type: 'Bearer', expires_in: TOKEN_EXPIRES_IN, rest_instance_url: `${sandbox.url}/` });
  token = String(body.access_token);
});
afterAll(() => sandbox.close());

const row = (n: number) => ({ keys: { ContactKey: `mirakl:debenhams:C-${n}` }, values: { Marketplace: 'debenhams', MarketingAllowed: false } });

describe('SFMC sandbox strictness', () => {
  it('token: invalid_client for bad credentials, unsupported_grant_type otherwise', async () => {
    const bad = await fetch(`${sandbox.url}/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_client' });
    const grant = await fetch(`${sandbox.url}/v2/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(grant.status).toBe(400);
  });

  it('rowset: columns must exist, primary keys go in keys, at most 50 rows', async () => {
    expect((await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', [row(1)])).status).toBe(200);
    const unknown = await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', [{ ...row(2), values: { Nope: 'x' } }]);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errorcode: 10000, message: expect.stringContaining("'Nope'"), documentation: expect.any(String) });
    expect((await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', [{ keys: {}, values: { Marketplace: 'x' } }])).status).toBe(400);
    expect((await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', Array.from({ length: 51 }, (_, i) => row(i)))).status).toBe(400);
    expect((await post('/hub/v1/dataevents/key:Unknown_DE/rowset', [row(1)])).status).toBe(404);
  });

  it('typed columns: a Boolean column refuses text', async () => {
    const typed = await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', [{ ...row(3), values: { MarketingAllowed: 'perhaps' } }]);
    expect(typed.status).toBe(400);
  });

  it('async upsert: 202 with a requestId, at most 32,000 items, Pending then Complete with row errors listed', async () => {
    const accepted = await post('/data/v1/async/dataextensions/key:MarketBridge_Customers/rows', { items: [{ ContactKey: 'a' }, { Nope: 1 }] }, 'PUT');
    expect(accepted.status).toBe(202);
    const { requestId } = (await accepted.json()) as { requestId: string };
    const status = async () => ((await (await post(`/data/v1/async/${requestId}/status`, undefined, 'GET')).json()) as { status: Record<string, unknown> }).status;
    expect((await status()).requestStatus).toBe('Pending');
    expect(await status()).toMatchObject({ requestStatus: 'Complete', hasErrors: true });
    const results = (await (await post(`/data/v1/async/${requestId}/results`, undefined, 'GET')).json()) as { items: unknown[] };
    expect(results.items).toHaveLength(1);
    const tooMany = await post('/data/v1/async/dataextensions/key:MarketBridge_Customers/rows', { items: Array.from({ length: 32_001 }, (_, i) => ({ ContactKey: `k${i}` })) }, 'PUT');
    expect(tooMany.status).toBe(400);
  });

  it('journeys: a known key without a period, a ContactKey, the required Data; batches of at most 100', async () => {
    const ok = await post('/interaction/v1/events', { ContactKey: 'mirakl:debenhams:C-1', EventDefinitionKey: 'APIEvent-marketbridge-order-confirmed', Data: { OrderKey: 'k', OrderId: 'o' } });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ eventInstanceId: expect.any(String) });
    for (const body of [
      { ContactKey: 'c', EventDefinitionKey: 'APIEvent.marketbridge', Data: { OrderKey: 'k', OrderId: 'o' } },
      { EventDefinitionKey: 'APIEvent-marketbridge-order-confirmed', Data: { OrderKey: 'k', OrderId: 'o' } },
      { ContactKey: 'c', EventDefinitionKey: 'APIEvent-marketbridge-order-confirmed', Data: { OrderKey: 'k' } },
    ]) {
      expect((await post('/interaction/v1/events', body)).status).toBe(400);
    }
    const members = Array.from({ length: 101 }, (_, i) => ({ contactKey: `c${i}`, data: { OrderKey: 'k', OrderId: 'o' } }));
    expect((await post('/interaction/v1/async/events', { eventDefinitionKey: 'APIEvent-marketbridge-order-confirmed', members })).status).toBe(400);
  });

  it('payloads over 5 MB are 413; an expired token is 401 Not Authorized (errorcode 0)', async () => {
    const huge = await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', `[${'"x",'.repeat(1_400_000)}"x"]`);
    expect(huge.status).toBe(413);
    now += TOKEN_EXPIRES_IN * 1000;
    const expired = await post('/hub/v1/dataevents/key:MarketBridge_Customers/rowset', [row(1)]);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ errorcode: 0, message: 'Not Authorized' });
  });
});

describe('SFMC sandbox rate limit', () => {
  it('REST calls over the configured rate per minute are 429 errorcode 50100 as documented; the next minute admits', async () => {
    let clock = Date.parse('2026-11-22T11:00:00Z');
    const limited = await startSfmcSandbox({ now: () => clock, requestsPerMinute: 3 });
    try {
      const byDefault = await startSfmcSandbox();
      expect(byDefault.requestsPerMinute).toBe(SFMC_MODELLED_REQUESTS_PER_MINUTE);
      await byDefault.close();
      const tokenResponse = await fetch(`${limited.url}/v2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: SFMC_SANDBOX_CLIENT.clientId, client_secret: SFMC_SANDBOX_CLIENT.clientSecret }),
      });
      const bearer = String(((await tokenResponse.json()) as Record<string, unknown>).access_token);
      const status = () => fetch(`${limited.url}/data/v1/async/unknown/status`, { headers: { authorization: `Bearer ${bearer}` } });
      clock += 45_000;
      for (let i = 0; i < 3; i++) expect((await status()).status).toBe(404);
      const refused = await status();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('15');
      expect(await refused.json()).toEqual({
        message: 'Rate limit exceeded',
        errorcode: 50100,
        retryAfter: 15,
        documentation: 'https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm',
      });
      clock += 15_000;
      expect((await status()).status).toBe(404);
    } finally {
      await limited.close();
    }
  });
});

describe('SFMC sandbox token allowance', () => {
  it('each client machine holds one live token: one more is throttled, an expired or ageing token is renewed', async () => {
    let clock = Date.parse('2026-11-22T12:00:00Z');
    const machines = await startSfmcSandbox({ now: () => clock, clientMachines: 2 });
    const ask = () =>
      fetch(`${machines.url}/v2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: SFMC_SANDBOX_CLIENT.clientId, client_secret: SFMC_SANDBOX_CLIENT.clientSecret }),
      });
    try {
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      // A third request while both machines hold fresh tokens is the token-per-call pattern SFMC throttles.
      const refused = await ask();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ errorcode: 50100 });
      // In a token's last minutes its machine renews it ahead of expiry.
      clock += 15 * 60_000;
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(429);
      // Tokens that stopped working (expired early) are asked for again.
      machines.expireTokens();
      expect((await ask()).status).toBe(200);
      expect(machines.tokenRequests).toBe(7);
    } finally {
      await machines.close();
    }
  });
});
