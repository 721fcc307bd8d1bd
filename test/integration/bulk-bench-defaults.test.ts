/**
 * The Dotdigital and SFMC benchmarks measure history loads at the product's default concurrency (the figures in
 * docs/performance.md are "at the default configuration"), not at whatever the test rigs use; each instance is its
 * own client machine with one token.
 */
import { expect, it } from 'vitest';
import { benchDotdigital } from '../../bench/dotdigital';
import { benchSfmc } from '../../bench/sfmc';
import { DotdigitalConnectorSchema, SfmcConnectorSchema } from '../../functions/shared/config';

it('Dotdigital and SFMC history loads run as many instances as the default maxConcurrency, with no 429', async () => {
  const dotdigital = await benchDotdigital({ liveOrders: 5, historyOrders: 300 });
  expect(dotdigital.history.instances).toBe(DotdigitalConnectorSchema.parse({}).maxConcurrency);
  expect(dotdigital.history.throttled).toBe(0);
  // Enough batches (of 500 events) that every instance takes some.
  const sfmc = await benchSfmc({ liveOrders: 5, historyOrders: 3_000 });
  expect(sfmc.history.instances).toBe(SfmcConnectorSchema.parse({}).maxConcurrency);
  expect(sfmc.history.instances).toBeGreaterThan(2);
  // One token per instance (each a client machine), none refused.
  expect(sfmc.history.byRoute.token).toBe(sfmc.history.instances);
  expect(sfmc.history.throttled).toBe(0);
});
