/**
 * A scripted `fetch` for unit tests of anything built on functions/shared/http: each call takes the next step,
 * and every request is recorded (URL, method, headers, body) for assertions.
 */

export interface RecordedRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: string | undefined;
}

/** A response to return, an error to throw (network failure), or 'hang' (never answers until aborted). */
export type FetchStep = Response | Error | 'hang' | ((request: RecordedRequest) => Response);

export interface FakeFetch {
  fetch: typeof fetch;
  requests: RecordedRequest[];
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function textResponse(text: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain', ...headers } });
}

/** Network error as undici reports it: TypeError('fetch failed') with a coded cause. */
export function networkError(code = 'ECONNRESET'): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
}

export function fakeFetch(steps: FetchStep[] | ((request: RecordedRequest, index: number) => FetchStep)): FakeFetch {
  const requests: RecordedRequest[] = [];
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request: RecordedRequest = {
      url: new URL(input instanceof Request ? input.url : input),
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    const index = requests.length;
    requests.push(request);
    const step = typeof steps === 'function' ? steps(request, index) : steps[index];
    if (step === undefined) throw new Error(`fakeFetch: no scripted step for request ${index + 1}`);
    if (step === 'hang') {
      return new Promise<Response>((_, reject) => {
        const signal = init?.signal;
        if (!signal) return;
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step(request) : step;
  };
  return { fetch: impl as typeof fetch, requests };
}
