import { describe, expect, it } from 'vitest';
import { benchKlaviyo, formatKlaviyoBench } from '../../bench/klaviyo';

describe('Klaviyo benchmark', () => {
  it('measures bulk history loads at a handful of calls per 1,000 orders, without a 429', async () => {
    const result = await benchKlaviyo({ liveOrders: 20, historyOrders: 2_000 });
    expect(result.live.callsPer1000Orders).toBeGreaterThan(1_000);
    expect(result.history.callsPer1000Orders).toBeLessThan(20);
    // One profile job and one event job per SQS batch of 500 records.
    const batches = Math.ceil(result.history.events / 500);
    expect(result.history.byRoute).toEqual({ bulkImportProfiles: batches, bulkCreateEvents: batches });
    expect(result.history.throttled).toBe(0);
    expect(formatKlaviyoBench(result).join('\n')).toMatch(/calls \/ 1,000 orders/);
  });
});
