/**
 * Dotdigital programme enrolment on the local runtime (`npm start` wiring): the real connector handler records
 * subscribed buyers' enrolments in the state table without calling Dotdigital, and the scheduled enrolment run
 * (`functions/dotdigital-enrolments.ts`, on the runtime's scheduler) enrols them in batches, never more than 20 calls
 * in an hour, which the Dotdigital sandbox enforces as Dotdigital documents. The live summary shows both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../functions/shared/aws/clients';
import { DynamoEnrolmentStore } from '../../functions/shared/aws/enrolmentStore';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { CONNECTOR_ROUTES } from '../../functions/shared/routes';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime';
import { type DotdigitalSandbox, attachDotdigitalSandbox } from '../../local/sandboxes/dotdigital';
import { formatSummary } from '../../local/summary';

const PROGRAMME = 7001;
const dataDir = mkdtempSync(join(tmpdir(), 'marketbridge-dd-enrol-'));
let runtime: LocalRuntime;
let sandbox: DotdigitalSandbox;

beforeAll(async () => {
  runtime = await startLocalRuntime({
    config: parseConfig({
      ...sandboxConfigInput,
      connectors: { dotdigital: { enabled: true, secretName: 'marketbridge/dotdigital', listId: 4001, programmes: { confirmed: PROGRAMME } } },
    }),
    connectors: [{ name: 'dotdigital', module: 'functions/dotdigital.ts' }],
    destinationSandboxes: { dotdigital: attachDotdigitalSandbox },
    dataDir,
    randomPorts: true,
    schedule: false,
    tickIntervalMs: 0,
    seed: 11,
  });
  sandbox = runtime.destinations.dotdigital as DotdigitalSandbox;
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Dotdigital enrolment on the local runtime', () => {
  it('the connector records enrolments instead of calling; the scheduled run enrols every buyer in one call', async () => {
    expect(runtime.scheduledJobs).toContain('dotdigital-enrolments');
    await runtime.runPoll('debenhams');
    const routed = runtime.events().filter(({ event }) => (CONNECTOR_ROUTES.dotdigital as readonly string[]).includes(event['detail-type']));
    const consumer = runtime.connectors.find((c) => c.name === 'dotdigital')?.consumer;
    await vi.waitFor(() => expect(consumer?.stats.deletedRecords).toBe(routed.length), { timeout: 60_000, interval: 200 });
    expect(sandbox.requests.some((r) => r.route === 'enrol')).toBe(false);
    const pending = await new DynamoEnrolmentStore(documentClient(), runtime.aws.dynamo.tableNames.state).pending([PROGRAMME]);
    expect(pending.length).toBeGreaterThan(1);

    await runtime.runScheduled('dotdigital-enrolments');
    // One call carries every buyer; a buyer with a second order waits for the next call (one enrolment per fact).
    expect(sandbox.store.enrolments).toEqual([{ programId: PROGRAMME, contacts: expect.any(Array) }]);
    expect(new Set(sandbox.store.enrolments[0]?.contacts)).toEqual(new Set(pending.map((e) => e.contactId)));
    const factsPerBuyer = Math.max(...pending.map((e) => pending.filter((x) => x.contactId === e.contactId).length));
    // One run more than needed: once nothing is pending, a run calls nobody.
    for (let run = 1; run <= factsPerBuyer; run++) await runtime.runScheduled('dotdigital-enrolments');
    expect(sandbox.store.enrolments).toHaveLength(factsPerBuyer);
    expect(sandbox.store.enrolments.flatMap((e) => e.contacts).sort()).toEqual(pending.map((e) => e.contactId).sort());
  }, 90_000);

  it('runs back to back with new enrolments each time never pass 20 calls in the hour; the sandbox refuses none', async () => {
    const store = new DynamoEnrolmentStore(documentClient(), runtime.aws.dynamo.tableNames.state);
    const earlier = sandbox.store.enrolments.length;
    const runsBefore = (await runtime.snapshot()).schedules?.['dotdigital-enrolments']?.runs ?? 0;
    for (let run = 0; run < 24; run++) {
      await store.add({
        programme: PROGRAMME,
        contactId: 900_000 + run,
        marketplace: 'debenhams',
        orderId: `RT${run}-A`,
        eventId: `debenhams:RT${run}-A:confirmed`,
        occurredAt: new Date().toISOString(),
      });
      await runtime.runScheduled('dotdigital-enrolments');
    }
    expect(sandbox.store.enrolments).toHaveLength(20);
    expect(sandbox.store.enrolmentsRefused).toBe(0);
    // What the cap held back waits for a later run.
    const waiting = await store.pending([PROGRAMME]);
    const called = 20 - earlier;
    expect(waiting.map((e) => e.contactId).sort()).toEqual(Array.from({ length: 24 - called }, (_, i) => 900_000 + called + i));

    const snapshot = await runtime.snapshot();
    expect(snapshot.schedules?.['dotdigital-enrolments']).toMatchObject({ runs: runsBefore + 24, failures: 0 });
    expect(snapshot.destinations?.dotdigital).toMatchObject({ 'enrolment calls': 20 });
    expect(formatSummary(snapshot)).toMatch(/dotdigital sandbox: .*enrolment calls 20/);
  }, 60_000);
});
