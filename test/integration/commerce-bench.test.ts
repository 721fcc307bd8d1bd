/** The Mirakl return-path benchmark holds its floors: one OR21 per order, OR23 + OR24 per shipment with SH21 once, one STO01 per minute. */
import { describe, expect, it } from 'vitest';
import { benchMirakl } from '../../bench/mirakl';

describe('Mirakl return-path benchmark', () => {
  it('acceptance and dispatch cost their floor; stock changes share one import per minute', async () => {
    const result = await benchMirakl({ orders: 100 });
    expect(result.acceptance).toEqual({ OR21: 100 });
    expect(result.dispatch).toEqual({ SH21: 1, OR23: 100, OR24: 100 });
    expect(result.stockImports).toBe(2);
    // The sandbox shop sells 8 offers: every one changed while STO01 waited, all in the run's single file.
    expect(result.linesInScheduledImport).toBe(8);
  }, 60_000);
});
