/**
 * Authentication of requests to our webhook endpoint: HMAC-SHA256 over `${timestamp}.${rawBody}` with a shared
 * secret. Signing the timestamp with the body lets a replay window reject captured requests sent again later.
 *
 *   x-marketbridge-timestamp: <unix seconds>
 *   x-marketbridge-signature: sha256=<hex>[, sha256=<hex>…]
 *
 * Several signatures are accepted so a sender can sign with the old and the new secret while a secret rotates;
 * the verifier may likewise hold both secrets.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-marketbridge-timestamp';
export const SIGNATURE_HEADER = 'x-marketbridge-signature';
export const DEFAULT_REPLAY_WINDOW_SECONDS = 300;

export type WebhookHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing-signature' | 'missing-timestamp' | 'bad-signature' | 'stale-timestamp' };

export interface VerifyWebhookInput {
  headers: WebhookHeaders;
  /** The body exactly as received, before any parsing. */
  rawBody: string | Uint8Array;
  /** Several secrets while one rotates. */
  secret: string | readonly string[];
  nowMs?: number;
  /** How far the timestamp may be from now, in either direction (clock skew as well as replays). */
  replayWindowSeconds?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  // Case-insensitive: API Gateway, Function URLs and Node all spell header names differently.
  const values = Object.entries(headers)
    .filter(([key]) => key.toLowerCase() === name)
    .flatMap(([, value]) => (value === undefined ? [] : typeof value === 'string' ? [value] : [...value]));
  return values.length === 0 ? undefined : values.join(',');
}

function digest(secret: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  if (!secret) throw new Error('webhook signing secret is empty');
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** The `sha256=` entries of the signature header, decoded; malformed entries are dropped. */
function offeredSignatures(value: string): Buffer[] {
  return value
    .split(',')
    .map((part) => /^\s*sha256=([0-9a-f]{64})\s*$/i.exec(part)?.[1])
    .filter((hex): hex is string => hex !== undefined)
    .map((hex) => Buffer.from(hex, 'hex'));
}

export function verifyWebhookSignature(input: VerifyWebhookInput): SignatureVerdict {
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  // Checked before anything else so a misconfiguration fails every request, not only well-formed ones.
  if (secrets.length === 0) throw new Error('no webhook signing secret configured');
  if (secrets.some((secret) => !secret)) throw new Error('webhook signing secret is empty');
  const signature = header(input.headers, SIGNATURE_HEADER)?.trim();
  if (!signature) return { ok: false, reason: 'missing-signature' };
  const timestamp = header(input.headers, TIMESTAMP_HEADER)?.trim();
  // An unusable timestamp is as good as none: it cannot anchor the replay window.
  if (!timestamp || !/^\d{1,15}$/.test(timestamp)) return { ok: false, reason: 'missing-timestamp' };

  const offered = offeredSignatures(signature);
  const expected = secrets.map((secret) => digest(secret, timestamp, input.rawBody));
  // Every pair is compared (no early exit) so timing does not reveal which entry nearly matched.
  let matched = false;
  for (const candidate of offered) {
    for (const wanted of expected) matched = timingSafeEqual(candidate, wanted) || matched;
  }
  if (!matched) return { ok: false, reason: 'bad-signature' };

  // Checked after the signature so "stale" always means an authentic request that is too old (or a skewed clock).
  const window = input.replayWindowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS;
  const ageSeconds = (input.nowMs ?? Date.now()) / 1000 - Number(timestamp);
  if (Math.abs(ageSeconds) > window) return { ok: false, reason: 'stale-timestamp' };
  return { ok: true };
}

/** Headers a sender adds; `rawBody` must be sent byte for byte as signed. */
export function signWebhook(
  rawBody: string | Uint8Array,
  secret: string,
  timestampSeconds: number,
): { [TIMESTAMP_HEADER]: string; [SIGNATURE_HEADER]: string } {
  if (!Number.isInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError('timestampSeconds must be a non-negative integer (unix seconds)');
  }
  const timestamp = String(timestampSeconds);
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `sha256=${digest(secret, timestamp, rawBody).toString('hex')}`,
  };
}
