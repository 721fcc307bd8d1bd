/**
 * The SFMC connector: one client-credentials token per ~20 minutes (cached for its lifetime less a minute, shared
 * by concurrent calls, refreshed on a 401), REST calls on the token's `rest_instance_url`, and what
 * `requests.ts` builds sent in order: data extension rows before the journey entry that reads them. Async upserts
 * (a batch's several at once, up to `historyInFlight`) are polled to completion; their row-level errors make the
 * record a permanent failure. Journey entries, which SFMC does not deduplicate, go through the journey-entry
 * ledger: at most once per event (see journeyLedger.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config';
import { type Connector, prefersBulkWith } from '../connector/runtime';
import { PermanentError, mapForDestination } from '../connector/failures';
import { inFlight } from '../connector/inFlight';
import type { RatePacer } from '../connector/pacer';
import type { BusinessEvent } from '../events';
import type { ExceptionRecorder } from '../exceptions';
import { isErasure } from '../privacy/erasure';
import { HttpError, type HttpClient, type HttpResponse, refusedByServerError } from '../http';
import type { JourneyEntryLedger, JourneyEntryMarker } from './journeyLedger';
import { SFMC, type SfmcWork } from './mapping';
import { type SfmcPacedOperation, sfmcPacer } from './pacing';
import {
  type JourneyWork,
  type PlannedRequest,
  type SfmcMethod,
  asyncUpsertRequests,
  authBaseUrl,
  journeyBatchRequest,
  journeyBatches,
  journeyBody,
  journeyWorks,
  paths,
  rowsetRequests,
  sfmcHeaders,
  sfmcSettings,
  sfmcWorkForConfig,
} from './requests';

/** Refresh this long before the token expires, so a call never starts with a token about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

export interface SfmcCredentials {
  clientId: string;
  clientSecret: string;
}

interface Token {
  accessToken: string;
  restUrl: string;
  expiresAt: number;
}

type Json = Record<string, unknown>;

/**
 * Client-credentials tokens for one installed package: cached in module scope across warm invocations, one request
 * in flight however many calls need a token, refreshed on expiry (less a margin) or when the API says 401.
 */
export class SfmcTokenCache {
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly authUrl: string,
    private readonly credentials: () => Promise<SfmcCredentials>,
    private readonly accountId: number | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Token> {
    if (this.token && this.now() < this.token.expiresAt - TOKEN_REFRESH_MARGIN_MS) return this.token;
    this.pending ??= this.request()
      .then((token) => {
        this.token = token;
        return token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** Forgets `token` unless a newer one has already replaced it (several calls may see the same 401). */
  invalidate(token: Token): void {
    if (this.token === token) this.token = undefined;
  }

  private async request(): Promise<Token> {
    const { clientId, clientSecret } = await this.credentials();
    const requestedAt = this.now();
    let response: HttpResponse;
    try {
      response = await this.http.request({
        operation: 'sfmc.token',
        method: 'POST',
        url: `${this.authUrl}${paths.token()}`,
        json: {
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
          ...(this.accountId === undefined ? {} : { account_id: this.accountId }),
        },
      });
    } catch (error) {
      if (error instanceof HttpError && !error.retryable) {
        throw new PermanentError(`${error.message}: check the installed package's client id, secret and account id`, { cause: error });
      }
      throw error;
    }
    const body = (response.json ?? {}) as Json;
    if (typeof body.access_token !== 'string' || typeof body.rest_instance_url !== 'string' || typeof body.expires_in !== 'number') {
      throw new PermanentError('sfmc.token: the token response lacks access_token, rest_instance_url or expires_in');
    }
    return {
      accessToken: body.access_token,
      restUrl: body.rest_instance_url.replace(/\/+$/, ''),
      expiresAt: requestedAt + body.expires_in * 1000,
    };
  }
}

export interface SfmcConnectorDeps {
  config: Config;
  http: HttpClient;
  /** Shared across connector instances of one package when given (e.g. the Lambda's module scope). */
  tokens?: SfmcTokenCache;
  credentials(): Promise<SfmcCredentials>;
  /** Each journey entry is claimed here before it is fired. */
  journeys: JourneyEntryLedger;
  /** Where an entry of unknown outcome is reported, for a person to check in Journey Builder. */
  exceptions: ExceptionRecorder;
  poll?: { intervalMs: number; timeoutMs: number };
  sleep?: (ms: number) => Promise<void>;
  /** Defaults to this instance's share of the account's REST budget (see pacing.ts). */
  pacer?: RatePacer<SfmcPacedOperation>;
}

/** SFMC's `errorcode` and message prefix, free of row values. */
function sfmcErrorCode(error: HttpError): string | undefined {
  const code = /"errorcode"\s*:\s*(\d+)/i.exec(error.bodySnippet ?? '')?.[1];
  return code ? `errorcode ${code}` : undefined;
}

const markerOf = (work: JourneyWork): JourneyEntryMarker => ({
  eventId: work.eventId,
  eventDefinitionKey: work.journey.eventDefinitionKey,
  marketplace: work.marketplace,
  orderId: work.orderId,
});

const instanceIdOf = (answer: Json) => (typeof answer.eventInstanceId === 'string' ? answer.eventInstanceId : undefined);

export function createSfmcConnector(deps: SfmcConnectorDeps): Connector {
  const settings = sfmcSettings(deps.config);
  const tokens = deps.tokens ?? new SfmcTokenCache(deps.http, authBaseUrl(settings), deps.credentials, settings.accountId);
  const poll = deps.poll ?? { intervalMs: 2_000, timeoutMs: 30_000 };
  const sleep = deps.sleep ?? delay;
  const pacer = deps.pacer ?? sfmcPacer(settings, { sleep });
  const { journeys } = deps;

  /**
   * One REST call on the token's instance; a 401 (token revoked or expired early) gets one fresh token. `answeredOnly`:
   * the HTTP layer repeats it only after SFMC answered with a refusal, never after a timeout or a reset.
   */
  async function call(operation: string, method: SfmcMethod, path: string, body?: unknown, options: { answeredOnly?: boolean; renewed?: boolean } = {}): Promise<HttpResponse> {
    const token = await tokens.get();
    try {
      return await deps.http.request({
        operation: `sfmc.${operation}`,
        beforeAttempt: () => pacer.take('rest'),
        method,
        url: `${token.restUrl}${path}`,
        headers: sfmcHeaders(token.accessToken),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.answeredOnly ? { retryAnsweredOnly: true } : {}),
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error.status === 401 && !options.renewed) {
        tokens.invalidate(token);
        return call(operation, method, path, body, { ...options, renewed: true });
      }
      if (!error.retryable) {
        const code = sfmcErrorCode(error);
        throw new PermanentError(code ? `${error.message}: ${code}` : error.message, { cause: error });
      }
      throw error;
    }
  }

  /** A journey entry POST: repeated only after an answered refusal, never after a timeout or a reset. */
  async function fire(operation: string, path: string, body: unknown): Promise<Json> {
    return ((await call(operation, 'POST', path, body, { answeredOnly: true })).json ?? {}) as Json;
  }

  /** Claims a work's entry for this delivery; one an earlier delivery left without an answer is reported instead. */
  async function claim(work: JourneyWork): Promise<boolean> {
    const state = await journeys.claim(markerOf(work));
    if (state === 'entering') {
      await deps.exceptions.record({
        type: 'journey.entry-uncertain',
        marketplace: work.marketplace,
        ref: work.orderId,
        reason:
          `entry into journey ${work.journey.eventDefinitionKey} for ${work.eventId} was sent with no answer seen ` +
          '(timeout, reset or crash) and is not sent again: check in Journey Builder whether the contact entered',
        payloadRef: work.eventId,
        component: SFMC,
      });
    }
    return state === 'claimed';
  }

  /** Fires a claimed entry; a refusal releases the claim for the retry, an unknown outcome keeps it. */
  async function fireClaimed<T>(claimed: JourneyWork[], post: () => Promise<T>): Promise<T> {
    try {
      return await post();
    } catch (error) {
      // SFMC answered with an error status, so nothing entered; with no answer (or a 504) the claim stays.
      if (refusedByServerError(error)) await Promise.all(claimed.map((work) => journeys.release(markerOf(work))));
      throw error;
    }
  }

  async function enter(work: JourneyWork): Promise<void> {
    if (!(await claim(work))) return;
    const answer = await fireClaimed([work], () => fire('journeyEvent', paths.journeyEvent(), journeyBody(work.journey)));
    await journeys.entered(markerOf(work), instanceIdOf(answer));
  }

  async function enterBatch(batch: JourneyWork[]): Promise<void> {
    const claimed = (await Promise.all(batch.map(async (work) => ((await claim(work)) ? [work] : [])))).flat();
    if (claimed.length === 0) return;
    const request = journeyBatchRequest(claimed, '');
    const answer = await fireClaimed(claimed, () => fire('journeyBatch', request.url, request.body));
    // Members are answered in the order sent; without that, no member's outcome is known and every claim stays.
    const members = (answer.members ?? []) as Json[];
    if (members.length !== claimed.length || members.some((m, i) => m.contactKey !== claimed[i]?.journey.contactKey)) {
      throw new PermanentError('sfmc journey entry answered members other than those sent: their entries are left unconfirmed');
    }
    // A member with an errorcode was refused alone: nothing entered for it, so its retry may fire.
    await Promise.all(
      claimed.map((work, i) => {
        const member = members[i] as Json;
        return member.errorcode === undefined ? journeys.entered(markerOf(work), instanceIdOf(member)) : journeys.release(markerOf(work));
      }),
    );
    const failed = members.filter((m) => m.errorcode !== undefined);
    if (failed.length > 0) throw new PermanentError(`sfmc journey entry refused ${failed.length} contact(s): errorcode ${String(failed[0]?.errorcode)}`);
  }

  async function awaitAsync(requestId: string): Promise<void> {
    const deadline = Date.now() + poll.timeoutMs;
    for (;;) {
      const status = ((await call('asyncStatus', 'GET', paths.asyncStatus(requestId))).json ?? {}) as Json;
      const state = (status.status ?? {}) as Json;
      if (state.requestStatus === 'Complete') {
        if (state.hasErrors !== true) return;
        const results = ((await call('asyncResults', 'GET', paths.asyncResults(requestId))).json ?? {}) as Json;
        const codes = [...new Set(((results.items ?? []) as Json[]).map((i) => String(i.errorCode)))].join(', ');
        throw new PermanentError(`sfmc async upsert finished with row errors: ${codes || 'unknown'}`);
      }
      if (state.requestStatus === 'Error') throw new PermanentError('sfmc async upsert failed (requestStatus Error)');
      // Upserts are idempotent by primary key: sending the rows again later is harmless.
      if (Date.now() >= deadline) throw new Error(`sfmc async upsert still pending after ${poll.timeoutMs} ms`);
      await sleep(poll.intervalMs);
    }
  }

  /** One async upsert, polled to completion. */
  async function upsertAsync(request: PlannedRequest): Promise<void> {
    const response = await call('asyncUpsert', 'PUT', request.url, request.body);
    const requestId = (response.json as Json | undefined)?.requestId;
    if (typeof requestId !== 'string') throw new PermanentError('sfmc async upsert answered without a requestId');
    await awaitAsync(requestId);
  }

  /** Rows first (the journey reads them), then the entries: single events live, batches for backlogs. */
  async function deliver(works: SfmcWork[], bulk: boolean): Promise<void> {
    // Built on an empty base: `call` puts each path on the token's REST instance.
    if (bulk) {
      // The upserts (one per data extension and 32,000 rows) are independent: in flight together, the batch waits
      // on SFMC's processing about once. It is done only when every one completed; one's row errors fail it.
      await inFlight(asyncUpsertRequests(works, '', settings), settings.historyInFlight, upsertAsync);
      for (const batch of journeyBatches(works)) await enterBatch(batch);
    } else {
      for (const request of rowsetRequests(works, '', settings)) await call('rowset', request.method, request.url, request.body);
      for (const work of journeyWorks(works)) await enter(work);
    }
  }

  /**
   * Erasure: contact delete by key (`ContactAndAttributes`), which SFMC queues, suppresses the contact at once and
   * removes them from every list and sendable data extension after the account's suppression period.
   */
  async function erase(contactKey: string): Promise<void> {
    const answer = ((await call('deleteContact', 'POST', paths.contactDelete(), { values: [contactKey], DeleteOperationType: 'ContactAndAttributes' })).json ?? {}) as Json;
    if (answer.operationInitiated !== true || answer.hasErrors === true) throw new PermanentError('sfmc contact delete was not initiated');
  }

  const works = (events: BusinessEvent[]) => mapForDestination('SFMC', () => events.map((e) => sfmcWorkForConfig(e, deps.config)));
  return {
    deliverOne: (event) => (isErasure(event) ? erase(event.detail.identity) : deliver(works([event]), false)),
    deliverMany: (events) => {
      const mapped = works(events);
      return deliver(mapped, mapped.some((w) => w.backfill) || mapped.length > 50);
    },
    prefersBulk: prefersBulkWith(settings),
  };
}
