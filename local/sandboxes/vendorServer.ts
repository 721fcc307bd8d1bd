/**
 * The loopback HTTP scaffolding the destination sandboxes (Dotdigital, SFMC, SFCC, Klaviyo) share: body reading
 * with a size cap, a record of every request (kept for tests, never logged: bodies hold buyer data), scripted
 * faults (429/5xx, a hang before or after the effect), and the `/__sandbox/state` and `/__sandbox/faults` control
 * endpoints. Each sandbox supplies its routes and its vendor's semantics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readBody } from '../aws/protocol';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** `Route` names a sandbox's routes; a fault without `route` hits whichever request comes next. */
export type SandboxFault<Route extends string = string> =
  | { kind: 'status'; status: 429 | 500 | 502 | 503 | 504; times: number; retryAfterSeconds?: number; route?: Route }
  /** Never answers; with `afterEffect` the request is applied first (the write happened, the answer is lost). */
  | { kind: 'timeout'; times: number; afterEffect?: boolean; route?: Route };

export interface ReceivedRequest<Route extends string = string> {
  method: string;
  path: string;
  /** The query string, `?` included (empty when there is none). */
  search: string;
  route: Route | undefined;
  status: number;
  /** Parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  at: number;
}

export interface VendorRequest<Route extends string = string> {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  route: Route | undefined;
}

export interface VendorServerOptions<Route extends string = string> {
  port?: number;
  maxBodyBytes: number;
  now: () => number;
  /** The media type of JSON bodies the vendor sends; `application/json; charset=utf-8` by default. */
  contentType?: string;
  /** Names the route of a request (for faults, limits and the request log); undefined when none matches. */
  routeOf(method: string, path: string): Route | undefined;
  /**
   * What the vendor refuses before a scripted fault can strike (an unknown route, a bad key, a rate limit); such a
   * request draws no fault. Undefined lets the request through to `handle`.
   */
  admit?(request: VendorRequest<Route>): Reply | undefined;
  /** The vendor's answer; `fault` is the scripted fault this request drew, if any. */
  handle(request: VendorRequest<Route>, fault: SandboxFault<Route> | undefined): Promise<Reply | 'hang'> | Reply | 'hang';
  /** Vendor state for `GET /__sandbox/state`. */
  state(): unknown;
}

export interface VendorServer<Route extends string = string> {
  url: string;
  requests: ReceivedRequest<Route>[];
  inject(fault: SandboxFault<Route>): void;
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

export async function startVendorServer<Route extends string = string>(
  options: VendorServerOptions<Route>,
): Promise<VendorServer<Route>> {
  const requests: ReceivedRequest<Route>[] = [];
  let faults: (SandboxFault<Route> & { remaining: number })[] = [];
  const hanging = new Set<ServerResponse>();
  const contentType = options.contentType ?? 'application/json; charset=utf-8';

  function inject(fault: SandboxFault<Route>): void {
    if (!Number.isInteger(fault.times) || fault.times < 1) throw new Error('fault `times` must be a positive integer');
    faults.push({ ...fault, remaining: fault.times });
  }

  function takeFault(route: Route | undefined): SandboxFault<Route> | undefined {
    const fault = faults.find((f) => !f.route || f.route === route);
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  function send(response: ServerResponse, reply: Reply): void {
    const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      ...(payload ? { 'content-type': contentType } : {}),
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
        inject(JSON.parse(raw.toString('utf8')) as SandboxFault<Route>);
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
    const vendorRequest = { method, url, headers: request.headers, raw, route };
    let reply: Reply | 'hang';
    try {
      reply = options.admit?.(vendorRequest) ?? (await options.handle(vendorRequest, takeFault(route)));
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
