/**
 * The HTTP server the operations console is served from (port from `PORT`). It starts with the JSON health
 * endpoint; the console's page and API routes register on it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readBody } from './aws/protocol';

export interface ApiRequest {
  method: string;
  /** Values of `{name}` segments in the route path. */
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface ApiResponse {
  status: number;
  body: unknown;
  /** Set for what is not JSON (the console page): the body is then sent as the string it is. */
  contentType?: string;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** e.g. `/api/queues/{name}/redrive` */
  path: string;
  handle(request: ApiRequest): Promise<ApiResponse> | ApiResponse;
}

const MAX_API_BODY_BYTES = 64 * 1024;

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const expected = pattern.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of expected.entries()) {
    const value = actual[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (!value) return undefined;
      params[segment.slice(1, -1)] = decodeURIComponent(value);
    } else if (segment !== value) {
      return undefined;
    }
  }
  return params;
}

export interface ConsoleServer {
  url: string;
  port: number;
  addRoute(route: ApiRoute): void;
  close(): Promise<void>;
}

export async function startConsoleServer(options: { port: number; routes?: ApiRoute[] }): Promise<ConsoleServer> {
  const routes = [...(options.routes ?? [])];
  const server = createServer((request, response) => {
    void (async () => {
      const reply = ({ status, body, contentType }: ApiResponse) => {
        const text = contentType ? String(body) : JSON.stringify(body);
        response.writeHead(status, { 'content-type': contentType ?? 'application/json', 'cache-control': 'no-store' });
        response.end(text);
      };
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const candidates = routes.flatMap((route) => {
        const params = matchPath(route.path, url.pathname);
        return params ? [{ route, params }] : [];
      });
      if (candidates.length === 0) return reply({ status: 404, body: { error: `no such endpoint ${url.pathname}` } });
      const match = candidates.find(({ route }) => route.method === request.method);
      if (!match) return reply({ status: 405, body: { error: `${request.method} not allowed on ${url.pathname}` } });
      const raw = await readBody(request, MAX_API_BODY_BYTES);
      if (!raw) return reply({ status: 413, body: { error: 'request body too large' } });
      let body: unknown;
      try {
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        return reply({ status: 400, body: { error: 'request body is not valid JSON' } });
      }
      try {
        reply(await match.route.handle({ method: request.method ?? 'GET', params: match.params, query: url.searchParams, body }));
      } catch (error) {
        reply({ status: 500, body: { error: (error as Error).message } });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    addRoute: (route) => routes.push(route),
    close: () => closeServer(server),
  };
}
