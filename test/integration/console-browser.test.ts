/**
 * The operations console in a real headless browser (Debian's chromium through playwright-core, no browser
 * download) on the local runtime: a Klaviyo 5xx burst and unmapped SKUs show up as exceptions with the right
 * owners, the filters work, the DLQ is redriven and an exception retried and another resolved from the page, a
 * reconciliation run shows Klaviyo complete, and a screenshot of the main view is taken and checked.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../local/runtime';
import type { TestRuntime } from '../support/localRuntime';
import { drained, releaseOr11Slots, runtimeAfterKlaviyoOutage, until } from '../support/operations';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe.skipIf(!hasChromium)('operations console in a headless browser', () => {
  let local: TestRuntime;
  let runtime: LocalRuntime;
  let browser: Browser;
  let page: Page;

  const message = () => page.getByTestId('message');
  const rows = () => page.getByTestId('exception-row');

  beforeAll(async () => {
    // No SKU is mapped: every order waiting for acceptance also becomes an `sku.unmapped` exception.
    ({ runtime } = local = await runtimeAfterKlaviyoOutage('console', { 'mirakl-acceptance': { enabled: true, marketplaces: ['debenhams'] } }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(runtime.consoleUrl);
    await page.waitForSelector('body[data-loaded="true"]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await local?.stop();
  });

  it('shows the flow, the dead letters and the exceptions with their owners; a screenshot of the main view', async () => {
    await expect.poll(() => page.getByTestId('flow-debenhams').textContent()).toMatch(/klaviyo/);
    expect(await page.getByTestId('flow-decathlon').textContent()).toMatch(/Decathlon/);
    expect(Number(await page.getByTestId('dlq-klaviyo').textContent())).toBeGreaterThan(0);
    const owners = await rows().evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-owner')} ${tr.getAttribute('data-type')}`));
    expect(owners).toContain('operations delivery.failed');
    expect(owners).toContain('ecommerce sku.unmapped');
    expect(await page.getByTestId('exceptions').textContent()).not.toMatch(/@/);

    const png = await page.screenshot({ fullPage: false });
    writeFileSync(join(local.dataDir, 'console.png'), png);
    if (process.env.CONSOLE_SCREENSHOT) writeFileSync(process.env.CONSOLE_SCREENSHOT, png);
    expect(pngSize(png)).toEqual({ width: 1400, height: 1000 });
    // A rendered page of tables and pills, not a blank or error page (a blank 1400×1000 PNG is a few KB).
    expect(png.length).toBeGreaterThan(40_000);
  });

  it('filters the inbox by owner', async () => {
    await page.getByTestId('filter-owner').selectOption('ecommerce');
    await expect.poll(async () => new Set(await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-owner'))))).toEqual(new Set(['ecommerce']));
    await page.getByTestId('filter-owner').selectOption('');
  });

  it('redrives the DLQ, retries one exception and resolves another from the page', async () => {
    await page.getByTestId('redrive-klaviyo').click();
    await expect.poll(() => message().textContent()).toMatch(/Redrive of klaviyo started/);
    await until(() => runtime.connectors[0]!.dlq.depth().visible === 0 && drained(runtime, 'klaviyo'));

    const failed = page.locator('[data-testid="exception-row"][data-type="delivery.failed"]');
    const before = await failed.count();
    await failed.first().getByTestId('retry').click();
    await expect.poll(() => message().textContent()).toMatch(/Re-published 1 event/);
    await expect.poll(() => failed.count()).toBe(before - 1);

    const unmapped = page.locator('[data-testid="exception-row"][data-type="sku.unmapped"]').first();
    await unmapped.getByTestId('resolve').click();
    await unmapped.getByTestId('resolve-note').fill('SKU mapped in SFCC, order accepted by hand');
    await unmapped.getByTestId('resolve-confirm').click();
    await expect.poll(() => message().textContent()).toMatch(/Resolved sku.unmapped/);
  });

  it('runs a reconciliation and shows Klaviyo with nothing missing', async () => {
    await until(() => drained(runtime, 'klaviyo'));
    await releaseOr11Slots(runtime);
    await page.getByTestId('run-reconciliation').click();
    await expect.poll(() => message().textContent(), { timeout: 30_000 }).toMatch(/Reconciliation done/);
    const row = page.getByTestId('reconciliation-debenhams-klaviyo');
    await expect.poll(() => row.locator('td').nth(4).textContent()).toBe('0');
    expect(Number(await row.locator('td').nth(2).textContent())).toBeGreaterThan(0);
  }, 60_000);
});
