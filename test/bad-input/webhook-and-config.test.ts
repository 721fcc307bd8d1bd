/**
 * Bad requests through the real webhook handler (the deployable `functions/webhook.ts` behind the local Function
 * URL, its secret from the Secrets Manager emulator): no or wrong signature, stale or future timestamps, oversized,
 * malformed and wrongly shaped bodies, other methods, and fuzzed garbage. Each gets its 4xx with a reason, never a
 * 5xx, and the endpoint keeps serving good requests afterwards. Broken configuration files get an error naming the
 * field and its value, in the parser and through the CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { ConfigError, loadConfigFile, parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from '../../functions/shared/webhook/signature';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';

const dir = mkdtempSync(join(tmpdir(), 'marketbridge-bad-input-'));
let runtime: LocalRuntime;
let secret: string;
const warnings: string[] = [];

beforeAll(async () => {
  runtime = await startLocalRuntime({
    dataDir: dir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 5,
    onWarning: (message) => warnings.push(message),
  });
  secret = runtime.secrets.find(runtime.config.webhook.secretName)!.value;
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function post(body: string, headers: Record<string, string> = {}, method = 'POST') {
  const response = await fetch(runtime.webhookUrl!, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'GET' ? undefined : body });
  return { status: response.status, body: (await response.json()) as { message?: string; reason?: string; problems?: string[] } };
}

const signed = (body: string, at = nowSeconds(), key = secret) => signWebhook(body, key, at);
const good = (id: string) => JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: [id] });

describe('webhook: bad requests through the real handler', () => {
  it.each([
    ['no signature', () => post(good('W-1')), 401, /missing/],
    ['a wrong signature', () => post(good('W-1'), signed(good('W-1'), nowSeconds(), 'not-the-secret')), 401, /signature/],
    ['a signature over another body', () => post(good('W-1'), signed(good('W-2'))), 401, /signature/],
    ['a stale timestamp (replayed an hour later)', () => post(good('W-1'), signed(good('W-1'), nowSeconds() - 3600)), 401, /stale|window|timestamp/],
    ['a timestamp from the future', () => post(good('W-1'), signed(good('W-1'), nowSeconds() + 3600)), 401, /stale|window|timestamp|future/],
    ['a non-numeric timestamp', () => post(good('W-1'), { ...signed(good('W-1')), [TIMESTAMP_HEADER]: 'yesterday' }), 401, /timestamp/],
    ['a malformed signature header', () => post(good('W-1'), { ...signed(good('W-1')), [SIGNATURE_HEADER]: 'md5=zz' }), 401, /signature/],
  ])('%s → 401 with the reason', async (_name, send, status, reason) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.body.reason).toMatch(reason);
  });

  it('an oversized body → 413 before any signature check or parsing', async () => {
    const huge = JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: ['x'.repeat(runtime.config.webhook.maxBodyBytes)] });
    for (const headers of [{}, signed(huge)]) {
      const response = await post(huge, headers);
      expect(response.status).toBe(413);
      expect(response.body.message).toMatch(/limit/);
    }
  });

  it('malformed JSON, a wrong shape, an unknown marketplace, too many ids → 400 naming the problem', async () => {
    const cases: [string, RegExp][] = [
      ['{"type":"order.changed",', /not valid JSON/],
      ['[]', /notification/],
      [JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: [] }), /notification/],
      [JSON.stringify({ type: 'order.deleted', marketplace: 'debenhams', orderIds: ['A'] }), /notification/],
      [JSON.stringify({ type: 'order.changed', marketplace: 'debenhams', orderIds: Array.from({ length: 101 }, (_, i) => `A${i}`) }), /notification/],
      [JSON.stringify({ type: 'shipment.dispatched', marketplace: 'nowhere', orderId: 'A', shipmentId: 'S', carrier: 'UPS', trackingNumber: '1', lines: [{ orderLineId: 'A-1', quantity: 1 }], shippedAt: new Date().toISOString() }), /unknown marketplace|notification/],
    ];
    for (const [body, message] of cases) {
      const response = await post(body, signed(body));
      expect(response.status, body.slice(0, 60)).toBe(400);
      expect(response.body.message, body.slice(0, 60)).toMatch(message);
    }
  });

  it('other methods → 405', async () => {
    expect((await post('', {}, 'GET')).status).toBe(405);
    expect((await post(good('W-1'), signed(good('W-1')), 'PUT')).status).toBe(405);
  });

  it('fuzzed bodies and headers, signed or not, only ever get a 4xx or an acceptance; the endpoint keeps serving', async () => {
    const body = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)));
    const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', 'sha256=', '0', '-1', '99999999999999999999'));
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), fc.record({ [TIMESTAMP_HEADER]: headerValue, [SIGNATURE_HEADER]: headerValue }, { requiredKeys: [] }), async (raw, sign, headers) => {
        const response = await post(raw, sign ? signed(raw) : headers);
        expect([400, 401, 413, 202]).toContain(response.status);
      }),
      { numRuns: 80 },
    );
    const accepted = await post(good('AFTER-FUZZ-A'), signed(good('AFTER-FUZZ-A')));
    expect(accepted.status).toBe(202);
    // The queued id is re-read by the next poll, which runs normally after all that.
    await runtime.runPoll('debenhams');
    expect(warnings.filter((w) => w.includes('webhook'))).toEqual([]);
  }, 60_000);
});

describe('broken configuration', () => {
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('any field given a value of the wrong kind is refused with its dotted path and the value, never a crash', () => {
    const leaves = (value: unknown, path: (string | number)[] = []): (string | number)[][] =>
      value && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, Array.isArray(value) ? Number(k) : k]))
        : [path];
    const paths = leaves(sandboxConfigInput);
    const wrong = fc.oneof(fc.constant(null), fc.constantFrom(-5, 0, 1e9, true, '', 'http//not a url', '🙂', [], {}), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(fc.constantFrom(...paths), wrong, (path, value) => {
        const input = structuredClone(sandboxConfigInput) as Record<string, any>;
        let target = input;
        for (const key of path.slice(0, -1)) target = target[key];
        target[path[path.length - 1]!] = value;
        // Every leaf is a scalar: null, an array or an object is wrong wherever it goes.
        const neverValid = value === null || typeof value === 'object';
        let refused = false;
        try {
          parseConfig(input);
        } catch (error) {
          refused = true;
          expect(error).toBeInstanceOf(ConfigError);
          const problems = (error as ConfigError).problems;
          expect(problems.some((p) => p.startsWith(path.join('.')) || p.startsWith('(root)') || p.includes('duplicate'))).toBe(true);
          for (const problem of problems) expect(problem).toMatch(/\((got .*|missing)\)$/);
        }
        if (neverValid) expect(refused, `${path.join('.')} accepted ${JSON.stringify(value)}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('files: unreadable, not JSON, empty, a bare array, a connector without its required setting', () => {
    const connectorless = JSON.stringify({ ...sandboxConfigInput, connectors: { dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital' } } });
    const cases: [string, RegExp][] = [
      [join(dir, 'absent.json'), /cannot read file/],
      [write('trailing.json', '{"marketplaces": [],'), /not valid JSON/],
      [write('empty.json', ''), /not valid JSON/],
      [write('array.json', '[]'), /\(root\)/],
      [write('dotdigital.json', connectorless), /connectors\.dotdigital\.listId: is required.*\(missing\)/],
      [write('typo.json', JSON.stringify({ ...sandboxConfigInput, conectors: {} })), /conectors/],
    ];
    for (const [file, message] of cases) {
      expect(() => loadConfigFile(file), file).toThrow(ConfigError);
      expect(() => loadConfigFile(file), file).toThrow(message);
    }
  });

  it('the CLI stops with exit code 2 and the named field, not a stack trace', async () => {
    const file = write('bad-policy.json', JSON.stringify({ ...sandboxConfigInput, marketplaces: [{ ...sandboxConfigInput.marketplaces[0], marketing: 'sometimes' }] }));
    const errors: string[] = [];
    const code = await main(['plan', '--config', file, '--marketplace', 'debenhams', write('orders.json', '{"orders":[]}')], {
      line: () => undefined,
      error: (message) => errors.push(message),
    });
    expect(code).toBe(2);
    expect(errors.join('\n')).toMatch(/marketplaces\.0\.marketing: .*\(got "sometimes"\)/);
    expect(errors.join('\n')).not.toMatch(/at .*\.ts:\d+/);
  });
});
