/** The SFCC benchmark's accounting on a small run: one create per order, tokens once, the re-run's read per order. */
import { expect, it } from 'vitest';
import { benchSfcc } from '../../bench/sfcc';

it('counts one createOrders per order (and one export status for history), one token per run, and a refused create plus a read per order re-run', async () => {
  const result = await benchSfcc({ orders: 20, afterSalesEvery: 10 });
  expect(result.live.byRoute.createOrders).toBe(20);
  expect(result.live.byRoute.slasToken).toBe(1);
  // Two orders with after-sales facts: a refund and a cancellation, each one read, one attribute write, one status.
  expect(result.live.byRoute.getOrder).toBe(4);
  expect(result.live.byRoute.updateOrder).toBe(4);
  // A history order is also set exported, so the brand's order export leaves it alone (these are still to ship in Mirakl).
  expect(result.history.byRoute.updateOrderExportStatus).toBe(20);
  expect(result.history.calls).toBe(result.live.calls + 20);
  expect(result.historyAgain.byRoute.createOrders).toBe(20);
  expect(result.historyAgain.byRoute.getOrder).toBe(20 + 4);
  expect(result.historyAgain.byRoute.updateOrder).toBeUndefined();
  // Already exported: the re-run reads that and sets nothing.
  expect(result.historyAgain.byRoute.updateOrderExportStatus).toBeUndefined();
});
