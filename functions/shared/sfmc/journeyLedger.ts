/**
 * The journey-entry ledger. SFMC entry events carry no key SFMC deduplicates on (a second event enters the contact
 * again and sends the buyer a second message), so each event's entry is claimed here before it is fired:
 *
 * - `claim` succeeds once per event; the marker says `entering` until the outcome is known.
 * - An answered success marks it `entered`; an answered refusal (nothing entered) releases it for the retry.
 * - An unknown outcome (timeout, reset after sending, crash) leaves `entering`: a redelivery does not fire again.
 *
 * So entry is at most once per event, and exactly once whenever SFMC's answer arrived.
 */

export interface JourneyEntryMarker {
  /** The business event's deterministic id (`detail.eventId`), as the connector's idempotency uses. */
  eventId: string;
  eventDefinitionKey: string;
  marketplace: string;
  orderId: string;
}

/** `entering`: fired, or about to be, with no answer seen yet; `entered`: SFMC accepted it. */
export type JourneyEntryState = 'entering' | 'entered';

export interface JourneyEntryLedger {
  /** Takes the entry for this delivery (`claimed`), or says what an earlier delivery of the event left. */
  claim(marker: JourneyEntryMarker): Promise<'claimed' | JourneyEntryState>;
  /** SFMC accepted the entry; its `eventInstanceId` is kept when it sent one. */
  entered(marker: JourneyEntryMarker, eventInstanceId: string | undefined): Promise<void>;
  /** SFMC refused the entry: the claim is dropped so a later delivery may fire it. */
  release(marker: JourneyEntryMarker): Promise<void>;
}

/** For unit tests and runs that touch no AWS. */
export class MemoryJourneyLedger implements JourneyEntryLedger {
  readonly markers = new Map<string, { state: JourneyEntryState; eventInstanceId?: string }>();

  async claim(marker: JourneyEntryMarker): Promise<'claimed' | JourneyEntryState> {
    const found = this.markers.get(marker.eventId);
    if (found) return found.state;
    this.markers.set(marker.eventId, { state: 'entering' });
    return 'claimed';
  }

  async entered(marker: JourneyEntryMarker, eventInstanceId: string | undefined): Promise<void> {
    this.markers.set(marker.eventId, { state: 'entered', ...(eventInstanceId === undefined ? {} : { eventInstanceId }) });
  }

  async release(marker: JourneyEntryMarker): Promise<void> {
    if (this.markers.get(marker.eventId)?.state === 'entering') this.markers.delete(marker.eventId);
  }
}
