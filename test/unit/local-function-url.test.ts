import { afterEach, describe, expect, it } from 'vitest';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { startFunctionUrl, type FunctionUrlServer } from '../../local/function-url';

let server: FunctionUrlServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(result: (event: LambdaFunctionURLEvent) => unknown) {
  const events: LambdaFunctionURLEvent[] = [];
  server = await startFunctionUrl({
    functionName: 'test-webhook',
    handler: async (event) => {
      events.push(event);
      return result(event);
    },
  });
  return { events, url: server.url };
}

describe('Function URL on loopback', () => {
  it('builds a payload 2.0 event with the raw body string, headers, query and request context', async () => {
    const { events, url } = await serve(() => ({ statusCode: 202, headers: { 'X-Id': 'a' }, body: '{"ok":true}' }));
    const raw = '{"b":1,  "a":2}';
    const response = await fetch(`${url}hooks/mirakl?x=1&x=2&y=3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Signature': 'sig', cookie: 'a=1; b=2' },
      body: raw,
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-id')).toBe('a');
    expect(await response.json()).toEqual({ ok: true });
    const [event] = events;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/hooks/mirakl',
      rawQueryString: 'x=1&x=2&y=3',
      queryStringParameters: { x: '1,2', y: '3' },
      cookies: ['a=1', 'b=2'],
      body: raw,
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/hooks/mirakl', sourceIp: expect.any(String) }, stage: '$default' },
    });
    expect(event?.headers['x-signature']).toBe('sig');
    expect(event?.headers.cookie).toBeUndefined();
    expect(event?.requestContext.time).toMatch(/^\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('base64-encodes binary bodies', async () => {
    const { events, url } = await serve(() => ({ statusCode: 204 }));
    const bytes = Buffer.from([0, 1, 2, 255]);
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(events[0]).toMatchObject({ body: bytes.toString('base64'), isBase64Encoded: true });
  });

  it('infers a 200 JSON response from a result without statusCode, and a 502 from a thrown error', async () => {
    let fail = false;
    const { url } = await serve(() => {
      if (fail) throw new Error('boom');
      return { accepted: 3 };
    });
    const inferred = await fetch(url);
    expect(inferred.status).toBe(200);
    expect(inferred.headers.get('content-type')).toBe('application/json');
    expect(await inferred.json()).toEqual({ accepted: 3 });
    fail = true;
    expect((await fetch(url)).status).toBe(502);
  });
});
