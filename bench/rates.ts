/**
 * The rate a history load achieved against a sandbox's configured limit: admitted requests per complete minute
 * from the first one (a partial last minute would understate the rate), over the limit per minute. 429s are
 * counted apart, so a rate bought with throttling shows.
 */

/** What the sandboxes record of each request (the shared vendor scaffolding and Klaviyo's sandbox alike). */
export interface TimedRequest {
  route?: string | undefined;
  status: number;
  at: number;
}

export interface RouteRate {
  requests: number;
  /** Mean admitted requests per complete minute; null when the load did not last a full minute. */
  perMinute: number | null;
  limitPerMinute: number;
  fractionOfLimit: number | null;
  throttled: number;
}

/** The rate of the requests `counts` selects (one route, or every route one limit covers). */
export function rateAgainst(requests: readonly TimedRequest[], counts: (route: string | undefined) => boolean, limitPerMinute: number): RouteRate | undefined {
  const selected = requests.filter((r) => counts(r.route));
  const times = selected.filter((r) => r.status !== 429).map((r) => r.at);
  if (times.length === 0) return undefined;
  const start = times[0] as number;
  const minutes = Math.floor(((times[times.length - 1] as number) - start) / 60_000);
  const perMinute = minutes > 0 ? times.filter((t) => t < start + minutes * 60_000).length / minutes : null;
  return {
    requests: times.length,
    perMinute,
    limitPerMinute,
    fractionOfLimit: perMinute === null ? null : perMinute / limitPerMinute,
    throttled: selected.length - times.length,
  };
}

/** The closest any limit came to being used; 0 when no load lasted a full minute (`--quick` runs). */
export function highestFraction(rates: readonly (RouteRate | undefined)[]): number {
  const fractions = rates.flatMap((r) => (r?.fractionOfLimit == null ? [] : [r.fractionOfLimit]));
  return fractions.length > 0 ? Math.max(...fractions) : 0;
}
