/**
 * The loopback HTTP scaffolding the Dotdigital and SFMC sandboxes share: body reading with a size cap, a record of
 * every request (kept for tests, never logged: bodies hold buyer data), scripted faults (429/5xx, a hang before or
 * after the effect), and the `/__sandbox/state` and `/__sandbox/faults` control endpoints. Each sandbox supplies
 * its routes and its vendor's semantics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readBody } from '../../aws/protocol';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type SandboxFault =
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; times: number; retryAfterSeconds?: number; route?: string }
  /** Never answers; with `afterEffect` the request is applied first (the write happened, the answer is lost). */
  | { kind: 'timeout'; times: number; afterEffect?: boolean; route?: string };

export interface ReceivedRequest {
  method: string;
  path: string;
  /** The query string, `?` included (empty when there is none). */
  search: string;
  route: string | undefined;
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  at: number;
}

export interface VendorRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  route: string | undefined;
}

export interface VendorServerOptions {
  port?: number;
  maxBodyBytes: number;
  now: () => number;
  /** Names the route of a request (for faults, limits and the request log); undefined when none matches. */
  routeOf(method: string, path: string): string | undefined;
  /** The vendor's answer; `fault` is the scripted fault this request drew, if any. */
  handle(request: VendorRequest, fault: SandboxFault | undefined): Promise<Reply | 'hang'> | Reply | 'hang';
  /** Vendor state for `GET /__sandbox/state`. */
  state(): unknown;
}

export interface VendorServer {
  url: string;
  requests: ReceivedRequest[];
  inject(fault: SandboxFault): void;
  reset(): void;
  close(): Promise<void>;
}

function parsed(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startVendorServer(options: VendorServerOptions): Promise<VendorServer> {
  const requests: ReceivedRequest[] = [];
  let faults: (SandboxFault & { remaining: number })[] = [];
  const hanging = new Set<ServerResponse>();

  function inject(fault: SandboxFault): void {
    if (!Number.isInteger(fault.times) || fault.times < 1) throw new Error('fault `times` must be a positive integer');
    faults.push({ ...fault, remaining: fault.times });
  }

  function takeFault(route: string | undefined): SandboxFault | undefined {
    const fault = faults.find((f) => !f.route || f.route === route);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  function send(response: ServerResponse, reply: Reply): void {
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      'content-length': Buffer.byteLength(payload),
      ...reply.headers,
    });
    response.end(payload);
  }

  function control(method: string, path: string, raw: Buffer): Reply {
    if (method === 'GET' && path === '/__sandbox/state') {
      return { status: 200, body: { ...(options.state() as object), requests: requests.map(({ body: _b, ...r }) => r), faults } };
    }
    if (method === 'POST' && path === '/__sandbox/faults') {
      try {
        inject(JSON.parse(raw.toString('utf8')) as SandboxFault);
        return { status: 204 };
      } catch (error) {
        return { status: 400, body: { message: (error as Error).message } };
      }
    }
    return { status: 404, body: { message: 'unknown sandbox control' } };
  }

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    const raw = (await readBody(request, options.maxBodyBytes + 1)) ?? Buffer.alloc(options.maxBodyBytes + 1);
    if (url.pathname.startsWith('/__sandbox/')) {
      send(response, control(method, url.pathname, raw));
      return;
    }
    const route = options.routeOf(method, url.pathname);
    let reply: Reply | 'hang';
    try {
      reply = await options.handle({ method, url, headers: request.headers, raw, route }, takeFault(route));
    } catch (error) {
      reply = { status: 500, body: { message: `sandbox error: ${(error as Error).message}` } };
    }
    requests.push({ method, path: url.pathname, search: url.search, route, status: reply === 'hang' ? 0 : reply.status, body: parsed(raw), at: options.now() });
    if (reply === 'hang') {
      hanging.add(response);
      response.on('close', () => hanging.delete(response));
      return;
    }
    send(response, reply);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    inject,
    reset() {
      requests.length = 0;
      faults = [];
    },
    async close() {
      for (const response of hanging) response.destroy();
      await closeServer(server);
    },
  };
}
