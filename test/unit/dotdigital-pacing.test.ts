/**
 * Dotdigital pacing: each call waits for its tier's share of the account's allowance, split over the connector's
 * concurrency, so every instance together stays under the allowance.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, sandboxConfigInput } from '../../functions/shared/config';
import { dotdigitalPacer, dotdigitalTierOf, pacedHttp } from '../../functions/shared/dotdigital/pacing';
import type { HttpRequest } from '../../functions/shared/http';

/** A clock that only moves when someone sleeps. */
function manualClock() {
  let now = 0;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), at: () => now };
}

const settingsOf = (dotdigital: Record<string, unknown>) =>
  parseConfig({ ...sandboxConfigInput, connectors: { dotdigital: { enabled: true, secretName: 'dd', listId: 1, ...dotdigital } } }).connectors
    .dotdigital!;

describe('Dotdigital pacing', () => {
  it('puts bulk imports and enrolments in tier low, reads in high, writes and setup in medium', () => {
    expect(['importContacts', 'dotdigital.importInsight', 'enrol'].map(dotdigitalTierOf)).toEqual(['low', 'low', 'low']);
    expect(['dotdigital.getRecord', 'listRecords', 'insightImportStatus', 'accountInfo'].map(dotdigitalTierOf)).toEqual(['high', 'high', 'high', 'high']);
    expect(['putRecord', 'upsertContact', 'dataFields', 'createCollection'].map(dotdigitalTierOf)).toEqual(['medium', 'medium', 'medium', 'medium']);
  });

  it('defaults to the modelled allowances; an account sets its own', () => {
    expect(settingsOf({})).toMatchObject({ requestsPerMinute: { low: 120, medium: 1_200, high: 2_400 } });
    expect(settingsOf({ requestsPerMinute: { low: 300 } }).requestsPerMinute).toEqual({ low: 300, medium: 1_200, high: 2_400 });
  });

  it('gives one instance 95 % of a tier over maxConcurrency a minute: the next call waits for the window', async () => {
    const clock = manualClock();
    const pacer = dotdigitalPacer(settingsOf({ maxConcurrency: 6 }), clock);
    for (let i = 0; i < 19; i++) await pacer.take('low');
    expect(clock.at()).toBe(0);
    await pacer.take('low');
    expect(clock.at()).toBe(60_000);
  });

  it('keeps every instance together under the allowance in any minute', async () => {
    const clock = manualClock();
    const settings = settingsOf({ maxConcurrency: 6 });
    const sent: number[] = [];
    const pacers = Array.from({ length: settings.maxConcurrency }, () => dotdigitalPacer(settings, clock));
    for (let round = 0; round < 60; round++) {
      for (const pacer of pacers) {
        await pacer.take('low');
        sent.push(clock.at());
      }
    }
    const busiestMinute = Math.max(...sent.map((start) => sent.filter((t) => t >= start && t < start + 60_000).length));
    expect(busiestMinute).toBeLessThanOrEqual(120);
    expect(busiestMinute).toBeGreaterThanOrEqual(108);
  });

  it('takes the request tier turn before sending each attempt, a retry included', async () => {
    const order: string[] = [];
    // Stands in for the HTTP layer: two attempts, each preceded by the request's beforeAttempt.
    const twoAttempts = async (request: HttpRequest) => {
      for (const attempt of [1, 2]) {
        await request.beforeAttempt?.();
        order.push(`send ${request.operation} #${attempt}`);
      }
      return { status: 202, headers: new Headers(), json: undefined, text: '' } as never;
    };
    const http = pacedHttp({ request: twoAttempts }, { take: async (tier) => void order.push(`take ${tier}`) });
    await http.request({ operation: 'dotdigital.importInsight', method: 'PUT', url: 'http://127.0.0.1/insightData/v3/import' });
    expect(order).toEqual(['take low', 'send dotdigital.importInsight #1', 'take low', 'send dotdigital.importInsight #2']);
  });
});
