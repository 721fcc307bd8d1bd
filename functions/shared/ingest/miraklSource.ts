/** Adapts the Mirakl HTTP client to the ingest port: raw order pages from OR11. */
import type { MiraklClient } from '../mirakl/client';
import { OR11_MAX_ORDER_IDS } from '../mirakl/client';
import type { MiraklOrdersSource } from './ports';

export function miraklOrdersSource(client: MiraklClient): MiraklOrdersSource {
  return {
    async *pages(query) {
      for await (const page of client.pageOrders({
        startUpdateDate: query.startUpdateDate,
        ...(query.endUpdateDate ? { endUpdateDate: query.endUpdateDate } : {}),
      })) {
        yield page.orders;
      }
    },
    async *byIds(orderIds) {
      for (let i = 0; i < orderIds.length; i += OR11_MAX_ORDER_IDS) {
        yield await client.ordersByIds(orderIds.slice(i, i + OR11_MAX_ORDER_IDS));
      }
    },
  };
}
