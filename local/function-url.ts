/**
 * A Lambda Function URL on loopback: turns a raw HTTP request into the payload format 2.0 event the service
 * builds (raw body string, base64 for binary content), invokes the handler and writes its result back with the
 * service's response inference (an object without `statusCode` is a 200 JSON body).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { closeServer, readBody } from './aws/protocol';
import { lambdaContext } from './lambda';

export type FunctionUrlHandler = (event: LambdaFunctionURLEvent, context: Context) => Promise<unknown>;

/** Lambda's synchronous invocation payload limit: bigger requests never reach the function. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Content types the Function URL passes as text; everything else arrives base64-encoded. */
const TEXT_TYPES = [/^text\//, /json/, /xml/, /javascript/, /x-www-form-urlencoded/, /yaml/, /csv/];

function isText(contentType: string | undefined): boolean {
  if (!contentType) return true;
  return TEXT_TYPES.some((pattern) => pattern.test(contentType.toLowerCase()));
}

/** `22/Nov/2026:05:37:00 +0000`, the requestContext.time format. */
function clf(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}`;
  return `${day}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export function functionUrlEvent(request: IncomingMessage, body: Buffer, host: string): LambdaFunctionURLEvent {
  const url = new URL(request.url ?? '/', `http://${host}`);
  // Multi-value headers are comma-joined, names lower-case; cookies move to their own field.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // The service adds these in front of the function.
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-for'] ??= sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(request.socket.localPort ?? '');
  const cookies = request.headers.cookie?.split(/;\s*/).filter(Boolean);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  const text = isText(request.headers['content-type']);
  const domainName = host;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp,
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: clf(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

/** The structured response format (the object form of LambdaFunctionURLResult). */
interface StructuredResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
}

function isStructured(result: unknown): result is StructuredResult {
  return typeof result === 'object' && result !== null && typeof (result as { statusCode?: unknown }).statusCode === 'number';
}

function writeResult(response: ServerResponse, result: unknown): void {
  if (!isStructured(result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(body);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode, headers);
  response.end(body);
}

export interface FunctionUrlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startFunctionUrl(options: {
  handler: FunctionUrlHandler;
  functionName: string;
  port?: number;
  onError?: (error: Error) => void;
}): Promise<FunctionUrlServer> {
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request, MAX_PAYLOAD_BYTES);
      if (!body) {
        response.writeHead(413, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ Message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation' }));
        return;
      }
      try {
        const event = functionUrlEvent(request, body, request.headers.host ?? '127.0.0.1');
        writeResult(response, await options.handler(event, lambdaContext(options.functionName)));
      } catch (error) {
        // An unhandled function error is a 502 from the Function URL, as deployed.
        options.onError?.(error as Error);
        response.writeHead(502, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ Message: 'Internal Server Error' }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/`, port, close: () => closeServer(server) };
}

