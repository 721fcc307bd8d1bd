/**
 * Erasure reaches every destination: the erasure event through each real connector against its strict sandbox
 * (Klaviyo through the deployed runtime, queue and idempotency included), and the OR11 sign of a buyer Mirakl has
 * anonymised turning into exactly one erasure.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { marketplaceById, sandboxConfig } from '../../functions/shared/config';
import { orderFacts } from '../../functions/shared/ingest/orderFacts';
import { erasureEvent, isAnonymisedBuyer } from '../../functions/shared/privacy/erasure';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import { type Harness, startHarness } from '../support/connectorHarness';
import { type DotdigitalRig, startDotdigitalRig } from '../support/dotdigitalFixtures';
import { klaviyoConfig, orderLifeEvents } from '../support/klaviyoFixtures';
import { rawOrder, updated } from '../support/miraklOrders';
import { type SfmcRig, startSfmcRig } from '../support/sfmcFixtures';
import { SFMC_SANDBOX_CLIENT } from '../../local/sandboxes/sfmc';

const IDENTITY = 'mirakl:debenhams:C-1001';
const erasure = erasureEvent('debenhams', 'C-1001', 'request', '2026-11-22T10:00:00.000Z');

describe('the erasure event', () => {
  it('carries identifiers only and is routed to every marketing destination, not to SFCC', () => {
    expect(erasure.id).toBe('debenhams:customer:C-1001:erasure');
    expect(erasure.source).toBe('marketbridge.privacy');
    expect(Object.keys(erasure.detail).sort()).toEqual(['backfill', 'customerId', 'eventId', 'identity', 'marketplace', 'occurredAt', 'reason', 'schemaVersion']);
    for (const name of ['klaviyo', 'dotdigital', 'sfmc'] as const) expect(CONNECTOR_ROUTES[name]).toContain('Customer Erasure Requested');
    expect(CONNECTOR_ROUTES['sfcc-orders']).not.toContain('Customer Erasure Requested');
  });
});

describe('Klaviyo', () => {
  let harness: Harness | undefined;
  afterEach(async () => harness?.close());

  it('finds the profile by external_id and requests its data-privacy deletion, once however often it is delivered', async () => {
    harness = await startHarness();
    harness.send([...orderLifeEvents('debenhams', 'PE1-A'), ...orderLifeEvents('debenhams', 'PE2-A', { customerId: 'C-2002' })]);
    await harness.drain();
    expect(harness.sandbox.store.profiles.size).toBe(2);

    harness.send([erasure, erasure]);
    await harness.drain();
    const profiles = [...harness.sandbox.store.profiles.values()];
    expect(profiles.map((p) => p.attributes.external_id)).toEqual(['mirakl:debenhams:C-2002']);
    expect(harness.sandbox.store.events.every((e) => e.profileId === profiles[0]?.id)).toBe(true);
    const calls = harness.sandbox.requests.filter((r) => r.route === 'getProfiles' || r.route === 'requestProfileDeletion');
    expect(calls.map((r) => [r.route, r.status])).toEqual([
      ['getProfiles', 200],
      ['requestProfileDeletion', 202],
    ]);
    expect(await harness.exceptions()).toEqual([]);
  });

  it('an erasure inside a history batch goes alone while the rest takes the bulk path', async () => {
    harness = await startHarness({ connector: { bulk: 'auto' } });
    harness.send([...orderLifeEvents('debenhams', 'PE3-A', { backfill: true, customerId: 'C-3003' }), erasureEvent('debenhams', 'C-3003', 'mirakl-anonymised', '2026-11-22T10:00:00.000Z')]);
    await harness.drain({ batchSize: 10 });
    const routes = harness.sandbox.requests.map((r) => r.route);
    expect(routes).toContain('bulkCreateEvents');
    expect(routes).toContain('getProfiles');
    expect(await harness.exceptions()).toEqual([]);
  });

  it('nothing to erase is not an error', async () => {
    harness = await startHarness();
    harness.send([erasureEvent('debenhams', 'C-404', 'request', '2026-11-22T10:00:00.000Z')]);
    await harness.drain();
    expect(harness.sandbox.requests.map((r) => r.route)).toEqual(['getProfiles']);
    expect(harness.dlq.depth().visible).toBe(0);
  });
});

describe('Dotdigital', () => {
  let rig: DotdigitalRig | undefined;
  afterEach(async () => rig?.close());

  it('deletes the contact by its custom identifier, its order records with it; a second erasure is a no-op', async () => {
    rig = await startDotdigitalRig();
    for (const event of orderLifeEvents('debenhams', 'PD1-A')) await rig.connector.deliverOne(event);
    expect(rig.sandbox.store.contacts.size).toBe(1);
    expect(rig.sandbox.store.recordsIn('Orders')).toHaveLength(1);

    await rig.connector.deliverOne(erasure);
    expect(rig.sandbox.store.contacts.size).toBe(0);
    expect(rig.sandbox.store.recordsIn('Orders')).toHaveLength(0);
    await rig.connector.deliverOne(erasure);
    const deletes = rig.sandbox.requests.filter((r) => r.route === 'deleteContact');
    expect(deletes.map((r) => r.status)).toEqual([200, 404]);
    expect(deletes[0]?.path).toContain(`/contacts/v3/mirakl_id/${encodeURIComponent(IDENTITY)}`);
  });
});

describe('SFMC', () => {
  let rig: SfmcRig | undefined;
  afterEach(async () => rig?.close());

  it('deletes the contact by key (ContactAndAttributes), which clears its data extension rows', async () => {
    rig = await startSfmcRig();
    for (const event of orderLifeEvents('debenhams', 'PS1-A')) await rig.connector.deliverOne(event);
    const rowsOf = () => [...rig!.sandbox.rows.values()].flatMap((t) => [...t.values()]).filter((r) => r.ContactKey === IDENTITY);
    expect(rowsOf().length).toBeGreaterThan(0);

    await rig.connector.deliverOne(erasure);
    expect(rig.sandbox.deletedContacts).toEqual([IDENTITY]);
    expect(rowsOf()).toEqual([]);
    const call = rig.sandbox.requests.find((r) => r.route === 'contactDelete');
    expect(call?.status).toBe(200);
  });

  it('the sandbox refuses what SFMC refuses', async () => {
    rig = await startSfmcRig();
    const token = (await (await fetch(`${rig.sandbox.url}/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: SFMC_SANDBOX_CLIENT.clientId, client_secret: SFMC_SANDBOX_CLIENT.clientSecret }),
    })).json()) as { access_token?: string };
    const post = (query: string, body: unknown) =>
      fetch(`${rig!.sandbox.url}/contacts/v1/contacts/actions/delete${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(token.access_token).toBeTruthy();
    expect((await post('?type=keys', { values: [IDENTITY], DeleteOperationType: 'AttributesOnly' })).status).toBe(400);
    expect((await post('?type=keys', { values: [], DeleteOperationType: 'ContactAndAttributes' })).status).toBe(400);
    expect((await post('', { values: [IDENTITY], DeleteOperationType: 'ContactAndAttributes' })).status).toBe(400);
  });
});

describe('a buyer Mirakl anonymised, as OR11 shows it', () => {
  const debenhams = marketplaceById(sandboxConfig, 'debenhams');
  const ctx = { marketplace: debenhams, component: 'test' };
  const anonymised = (order: ReturnType<typeof rawOrder>) =>
    updated(order, '2026-11-21T10:00:00Z', {
      customer_notification_email: null,
      customer: { customer_id: 'C-1001', firstname: null, lastname: null, civility: null, locale: null, billing_address: null, shipping_address: null },
    } as never);

  it('personal fields gone with the customer id kept, or an explicit flag, means anonymised; a live order does not', () => {
    const live = rawOrder('AN1-A');
    expect(isAnonymisedBuyer(live)).toBe(false);
    expect(isAnonymisedBuyer(anonymised(live))).toBe(true);
    expect(isAnonymisedBuyer({ ...live, customer: { ...(live.customer as object), anonymized: true } })).toBe(true);
    expect(isAnonymisedBuyer({ ...live, anonymized_at: '2026-11-21T10:00:00Z' })).toBe(true);
    // A click-and-collect order without an address still has the buyer's name.
    expect(isAnonymisedBuyer({ ...live, customer: { ...(live.customer as object), shipping_address: null } })).toBe(false);
  });

  it('marketbridge plan shows the erasure event (its requests depend on what each destination holds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-erasure-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(klaviyoConfig()));
    writeFileSync(join(dir, 'or11.json'), JSON.stringify({ orders: [anonymised(rawOrder('AN3-A'))] }));
    const lines: { kind: string; detailType?: string }[] = [];
    const code = await main(['plan', '--config', join(dir, 'config.json'), '--marketplace', 'debenhams', join(dir, 'or11.json')], {
      line: (v) => lines.push(v as { kind: string }),
      error: () => undefined,
    });
    expect(code).toBe(0);
    expect(lines.filter((l) => l.kind === 'event').map((l) => l.detailType)).toContain('Customer Erasure Requested');
  });

  it('the first read of an anonymised order publishes one erasure, re-reads publish none', () => {
    const first = orderFacts(rawOrder('AN2-A'), undefined, ctx);
    expect(first.events.some((e) => e.detailType === 'Customer Erasure Requested')).toBe(false);
    const later = orderFacts(anonymised(rawOrder('AN2-A')), first.snapshot, ctx);
    expect(later.events.map((e) => [e.detailType, e.id])).toEqual([['Customer Erasure Requested', 'debenhams:customer:C-1001:erasure']]);
    expect(orderFacts(anonymised(rawOrder('AN2-A')), later.snapshot, ctx).events).toEqual([]);
  });
});
