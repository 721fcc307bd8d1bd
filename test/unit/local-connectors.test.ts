import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { DEFAULT_CONNECTORS, loadHandler, planConnectors } from '../../local/connectors';
import { formatSummary } from '../../local/summary';

const root = mkdtempSync(join(tmpdir(), 'marketbridge-connectors-'));
mkdirSync(join(root, 'functions'));
writeFileSync(join(root, 'functions', 'klaviyo.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
writeFileSync(join(root, 'functions', 'broken.mjs'), 'export const nothing = 1;\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('connector registry', () => {
  const config = parseConfig({
    ...sandboxConfigInput,
    connectors: {
      klaviyo: { enabled: true, maxConcurrency: 5 },
      'mirakl-acceptance': { enabled: true },
      'mirakl-stock': { enabled: false },
    },
  });

  it('plans a queue for every enabled connector and the privacy consumer, a consumer only where the handler module exists', () => {
    const plans = planConnectors(
      config,
      [
        { name: 'klaviyo', module: 'functions/klaviyo.mjs' },
        { name: 'mirakl-acceptance', module: 'functions/mirakl-acceptance.mjs' },
        { name: 'mirakl-stock', module: 'functions/klaviyo.mjs' },
      ],
      root,
    );
    expect(plans).toEqual([
      { name: 'klaviyo', handlerFile: join(root, 'functions', 'klaviyo.mjs'), maxConcurrency: 5 },
      { name: 'mirakl-acceptance', maxConcurrency: 2 },
      // Not registered here: its queue and rule, no consumer.
      { name: 'privacy', maxConcurrency: 2 },
    ]);
  });

  it('plans the privacy consumer whatever the configuration, as the stack deploys it', () => {
    const plans = planConnectors(parseConfig({ ...sandboxConfigInput, connectors: {} }));
    expect(plans).toEqual([{ name: 'privacy', handlerFile: expect.stringMatching(/functions\/privacy\.ts$/), maxConcurrency: 2 }]);
  });

  it('registers every connector at functions/<name>.ts by default', () => {
    expect(DEFAULT_CONNECTORS.find((c) => c.name === 'sfcc-orders')).toEqual({
      name: 'sfcc-orders',
      module: 'functions/sfcc-orders.ts',
    });
  });

  it('loads the handler export and names a module without one', async () => {
    const handler = await loadHandler<() => Promise<unknown>>(join(root, 'functions', 'klaviyo.mjs'));
    expect(await handler()).toEqual({ batchItemFailures: [] });
    await expect(loadHandler(join(root, 'functions', 'broken.mjs'))).rejects.toThrow(/broken\.mjs does not export/);
  });
});

describe('live summary', () => {
  it('shows counts per marketplace, exceptions, polls and queues', () => {
    const text = formatSummary({
      at: '2026-11-22T06:00:05.000Z',
      events: { total: 3, byMarketplace: { debenhams: { 'Order Confirmed': 2, 'Order Shipped': 1 } } },
      exceptions: { open: 1, byType: { 'sku.unmapped': 1 } },
      polls: {
        debenhams: { runs: 2, failures: 0, skipped: 0 },
        decathlon: { runs: 2, failures: 1, skipped: 0, lastError: 'Error: Mirakl 503' },
      },
      queues: [{ connector: 'klaviyo', consuming: true, visible: 1, inFlight: 2, deadLettered: 0, processed: 5, failed: 1 }],
      putEventsFaultsInjected: 0,
    });
    expect(text).toBe(
      [
        '[06:00:05] events 3',
        '  debenhams: Confirmed 2, Shipped 1 | polls 2',
        '  decathlon: no events yet | polls 2, 1 failed',
        '  decathlon last poll error: Error: Mirakl 503',
        '  exceptions open 1 (sku.unmapped 1)',
        '  klaviyo: queued 1, in flight 2, DLQ 0 | done 5, failed 1',
      ].join('\n'),
    );
  });
});
