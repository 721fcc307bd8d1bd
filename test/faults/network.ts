/**
 * Network faults between the connector Lambdas and a destination, injected in the process's `fetch` (the one every
 * connector's HTTP layer uses), for what a sandbox server cannot do to its own connection:
 *
 * - `reset`: the connection is reset (ECONNRESET); with `afterEffect` the request reached the destination first and
 *   only the answer is lost.
 * - `down`: the destination answers 503 to everything until `clear`, an outage longer than any retry budget.
 * - `crash`: the request reaches the destination, then the Lambda process dies before it sees the answer: the call
 *   never returns, the idempotency record stays INPROGRESS and the SQS message is never deleted.
 *
 * Install before the runtime's connectors make their first call: HTTP clients keep the `fetch` they were built with.
 */
type Rule =
  /** With `path`, only writes (not GET) whose path matches, as for `crash`. */
  | { kind: 'reset'; afterEffect: boolean; remaining: number; path?: RegExp }
  /** Only writes (not GET) whose path matches: a crash after a token request or a read proves nothing. */
  | { kind: 'crash'; remaining: number; path: RegExp }
  | { kind: 'down' };

export interface NetworkFaults {
  reset(origin: string, times: number, options?: { afterEffect?: boolean; path?: RegExp }): void;
  crash(origin: string, times: number, path?: RegExp): void;
  down(origin: string): void;
  clear(origin: string): void;
  /** Faults scripted but not yet fired, per origin. */
  pending(origin: string): number;
  /** Puts the original `fetch` back. */
  uninstall(): void;
}

function connectionReset(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
}

export function installNetworkFaults(): NetworkFaults {
  const original = globalThis.fetch;
  const rules = new Map<string, Rule[]>();

  const take = (url: URL, method: string): Rule | undefined => {
    const list = rules.get(url.origin) ?? [];
    const rule = list.find((r) => r.kind === 'down' || r.path === undefined || (method !== 'GET' && r.path.test(url.pathname)));
    if (rule && rule.kind !== 'down') {
      rule.remaining -= 1;
      if (rule.remaining === 0) list.splice(list.indexOf(rule), 1);
    }
    return rule;
  };

  globalThis.fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const rule = take(url, (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase());
    if (!rule) return original(input, init);
    if (rule.kind === 'down') {
      return new Response(JSON.stringify({ message: 'service unavailable' }), { status: 503, headers: { 'content-type': 'application/json' } });
    }
    if (rule.kind === 'reset' && !rule.afterEffect) throw connectionReset();
    const response = await original(input, init);
    await response.arrayBuffer();
    if (rule.kind === 'reset') throw connectionReset();
    // The process is gone: nothing after this point ever runs.
    return new Promise<Response>(() => undefined);
  };

  const add = (origin: string, rule: Rule) => rules.set(origin, [...(rules.get(origin) ?? []), rule]);
  return {
    reset: (origin, times, options = {}) => add(origin, { kind: 'reset', afterEffect: options.afterEffect ?? false, remaining: times, path: options.path }),
    crash: (origin, times, path = /./) => add(origin, { kind: 'crash', remaining: times, path }),
    down: (origin) => add(origin, { kind: 'down' }),
    clear: (origin) => void rules.delete(origin),
    pending: (origin) => (rules.get(origin) ?? []).reduce((n, r) => n + (r.kind === 'down' ? 1 : r.remaining), 0),
    uninstall: () => void (globalThis.fetch = original),
  };
}
