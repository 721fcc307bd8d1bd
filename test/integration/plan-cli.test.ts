import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { plan } from '../../cli/plan';
import { sandboxConfigInput } from '../../functions/shared/config';
import { rawOrder, updated, withLines } from '../support/miraklOrders';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const errors: string[] = [];
  return { lines, errors, out: { line: (v: unknown) => lines.push(v as Record<string, unknown>), error: (m: string) => errors.push(m) } };
}

const stdin = (text: string) => Readable.from([text]);

describe('marketbridge plan', () => {
  it('prints one event line per business fact of a single OR11 response', async () => {
    const c = capture();
    const response = { orders: [rawOrder('PL1-A'), rawOrder('PL2-A', { order_state: 'WAITING_ACCEPTANCE', customer_debited_date: null })], total_count: 2 };
    expect(await plan(['--marketplace', 'debenhams'], c.out, stdin(JSON.stringify(response)))).toBe(0);
    expect(c.lines.map((l) => [l.kind, l.id, l.source, l.detailType])).toEqual([
      ['event', 'debenhams:PL1-A:confirmed', 'marketbridge.mirakl', 'Order Confirmed'],
      ['event', 'debenhams:PL2-A:awaiting-acceptance', 'marketbridge.mirakl', 'Order Awaiting Acceptance'],
    ]);
    expect(c.lines[0]?.detail).toMatchObject({ eventId: 'debenhams:PL1-A:confirmed', marketplace: 'debenhams', order: { orderId: 'PL1-A' } });
  });

  it('treats a JSON array as successive polls with state carried between them', async () => {
    const order = rawOrder('PS-A');
    const shipped = withLines(updated(order, '2026-11-21T00:00:00Z', { order_state: 'SHIPPED' }), () => ({ order_line_state: 'SHIPPED', shipped_date: '2026-11-21T00:00:00Z' }));
    const c = capture();
    await plan(['--marketplace', 'debenhams'], c.out, stdin(JSON.stringify([{ orders: [order] }, { orders: [order] }, { orders: [shipped] }])));
    expect(c.lines.map((l) => l.id)).toEqual(['debenhams:PS-A:confirmed', 'debenhams:PS-A:shipped']);
  });

  it('prints exceptions in the documented shape and goes on with the page', async () => {
    const c = capture();
    await plan(['--marketplace', 'decathlon'], c.out, stdin(JSON.stringify({ orders: [rawOrder('EX-A', { customer: null }), rawOrder('OK-A')] })));
    expect(c.lines[0]).toEqual({
      kind: 'exception',
      type: 'identity.missing',
      marketplace: 'decathlon',
      ref: 'EX-A',
      message: expect.stringContaining('customer_id'),
    });
    expect(c.lines[1]).toMatchObject({ kind: 'event', id: 'decathlon:OK-A:confirmed' });
  });

  it.each([
    ['malformed JSON', '{"orders": [', /input is not valid JSON/],
    ['a response without orders', '[{"orders": []}, {"order": []}]', /input\[1\] is not an OR11 response/],
  ])('rejects %s with a clear message and prints nothing', async (_name, input, message) => {
    const c = capture();
    await expect(plan(['--marketplace', 'debenhams'], c.out, stdin(input))).rejects.toThrow(message);
    expect(c.lines).toEqual([]);
  });

  it('names an unknown marketplace and a missing option', async () => {
    const c = capture();
    expect(await main(['plan', '--marketplace', 'amazon', 'nope.json'], c.out)).toBe(2);
    expect(c.errors[0]).toContain('unknown marketplace "amazon"');
    expect(await main(['plan'], c.out)).toBe(2);
    expect(c.errors[1]).toContain('--marketplace is required');
  });

  it('runs as the installed bin: stdin in, JSON lines out, exit 0; malformed input exits 2', () => {
    const ok = spawnSync('node', ['bin/marketbridge.js', 'plan', '--marketplace', 'debenhams'], { input: JSON.stringify({ orders: [rawOrder('BIN-A')] }), encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['debenhams:BIN-A:confirmed']);
    const bad = spawnSync('node', ['bin/marketbridge.js', 'plan', '--marketplace', 'debenhams'], { input: 'not json', encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('input is not valid JSON');
    expect(bad.stdout).toBe('');
  });
});

describe('marketbridge plan with destinations configured', () => {
  function configFile(connectors: Record<string, unknown>): string {
    const dir = mkdtempSync(join(tmpdir(), 'mb-plan-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...sandboxConfigInput, connectors }));
    return file;
  }

  it('prints each enabled marketing connector’s requests after the event, key masked, single calls by default', async () => {
    const c = capture();
    const file = configFile({ klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' } });
    await plan(['--config', file, '--marketplace', 'debenhams'], c.out, stdin(JSON.stringify({ orders: [rawOrder('KP-A')] })));
    const [event, ...requests] = c.lines;
    expect(event).toMatchObject({ kind: 'event', id: 'debenhams:KP-A:confirmed' });
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request).toMatchObject({ kind: 'request', connector: 'klaviyo', method: 'POST', url: expect.stringMatching(/^https:\/\/a\.klaviyo\.com\/api\//) });
      expect(String(request.path)).toMatch(/^\/api\//);
      expect(JSON.stringify(request.headers)).not.toMatch(/Klaviyo-API-Key (?!\*\*\*)/);
    }
    expect(requests.map((r) => r.path)).not.toContain('/api/event-bulk-create-jobs');
  });

  it('--backfill marks events as history and uses the bulk form', async () => {
    const c = capture();
    const file = configFile({ klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo' } });
    await plan(['--config', file, '--marketplace', 'debenhams', '--backfill'], c.out, stdin(JSON.stringify({ orders: [rawOrder('KB-A')] })));
    expect(c.lines[0]).toMatchObject({ kind: 'event', detail: { backfill: true } });
    expect(c.lines.slice(1).map((r) => r.path)).toContain('/api/event-bulk-create-jobs');
  });

  it('a connector limited to other marketplaces prints nothing for this one', async () => {
    const c = capture();
    const file = configFile({ klaviyo: { enabled: true, secretName: 'marketbridge/klaviyo', marketplaces: ['decathlon'] } });
    await plan(['--config', file, '--marketplace', 'debenhams'], c.out, stdin(JSON.stringify({ orders: [rawOrder('KX-A')] })));
    expect(c.lines.map((l) => l.kind)).toEqual(['event']);
  });
});
