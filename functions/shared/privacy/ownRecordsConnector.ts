/**
 * The own-tables half of an erasure as a consumer of the erasure event, so an erasure the poller publishes (Mirakl
 * anonymised the buyer) is applied to our tables with the same queue, retries, DLQ and exception as any delivery.
 */
import { PermanentError } from '../connector/failures';
import type { Connector } from '../connector/runtime';
import { isErasure } from './erasure';
import type { OwnRecords } from './ownRecords';

export function ownRecordsConnector(records: OwnRecords): Connector {
  return {
    async deliverOne(event) {
      if (!isErasure(event)) throw new PermanentError(`${event.detailType} is not an erasure and is not routed to privacy`);
      await records.eraseBuyer(event.detail.marketplace, event.detail.identity);
    },
  };
}
