import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from '../../functions/shared/webhook/signature';

const SECRET = 'whsec-test-1';
const NOW_S = 1_795_000_000;
const NOW_MS = NOW_S * 1000;
const BODY = '{"type":"ORDER_UPDATED","order_ids":["4000123456-A"]}';

function verify(headers: Record<string, string | undefined> | Headers, overrides: Record<string, unknown> = {}) {
  return verifyWebhookSignature({ headers, rawBody: BODY, secret: SECRET, nowMs: NOW_MS, replayWindowSeconds: 300, ...overrides });
}

describe('webhook signature', () => {
  it('accepts what signWebhook produced', () => {
    expect(verify(signWebhook(BODY, SECRET, NOW_S))).toEqual({ ok: true });
  });

  it('is HMAC-SHA256 over "<timestamp>.<raw body>" as lowercase hex', () => {
    const expected = createHmac('sha256', SECRET).update(`${NOW_S}.${BODY}`).digest('hex');
    expect(signWebhook(BODY, SECRET, NOW_S)).toEqual({
      'x-marketbridge-timestamp': String(NOW_S),
      'x-marketbridge-signature': `sha256=${expected}`,
    });
  });

  it('signs bytes and the equivalent string identically', () => {
    const headers = signWebhook(Buffer.from(BODY, 'utf8'), SECRET, NOW_S);
    expect(verify(headers)).toEqual({ ok: true });
  });

  it('looks headers up case-insensitively, in records and in Headers', () => {
    const signed = signWebhook(BODY, SECRET, NOW_S);
    expect(verify({ 'X-MarketBridge-Timestamp': signed[TIMESTAMP_HEADER], 'X-MARKETBRIDGE-SIGNATURE': signed[SIGNATURE_HEADER] })).toEqual({ ok: true });
    expect(verify(new Headers(signed))).toEqual({ ok: true });
  });

  it('rejects a tampered body', () => {
    const headers = signWebhook(BODY, SECRET, NOW_S);
    expect(verify(headers, { rawBody: BODY.replace('4000123456-A', '4000123457-A') })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify(headers, { rawBody: `${BODY} ` })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects a tampered timestamp (it is part of what is signed)', () => {
    const headers = signWebhook(BODY, SECRET, NOW_S);
    expect(verify({ ...headers, [TIMESTAMP_HEADER]: String(NOW_S + 1) })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects the wrong secret', () => {
    expect(verify(signWebhook(BODY, 'someone-else', NOW_S))).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('reports missing headers', () => {
    const headers = signWebhook(BODY, SECRET, NOW_S);
    expect(verify({ [TIMESTAMP_HEADER]: headers[TIMESTAMP_HEADER] })).toEqual({ ok: false, reason: 'missing-signature' });
    expect(verify({ [TIMESTAMP_HEADER]: headers[TIMESTAMP_HEADER], [SIGNATURE_HEADER]: ' ' })).toEqual({ ok: false, reason: 'missing-signature' });
    expect(verify({ [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER] })).toEqual({ ok: false, reason: 'missing-timestamp' });
    expect(verify({ ...headers, [TIMESTAMP_HEADER]: '2026-11-22T06:00:00Z' })).toEqual({ ok: false, reason: 'missing-timestamp' });
  });

  it.each(['sha256=zz', 'sha1=abcd', 'abcdef', `sha256=${'0'.repeat(64)}`, `sha256=${'a'.repeat(63)}`])(
    'rejects a malformed or wrong signature: %s',
    (value) => {
      expect(verify({ [TIMESTAMP_HEADER]: String(NOW_S), [SIGNATURE_HEADER]: value })).toEqual({ ok: false, reason: 'bad-signature' });
    },
  );

  it('rejects stale and future timestamps outside the window, accepts the edges', () => {
    const at = (seconds: number) => signWebhook(BODY, SECRET, seconds);
    expect(verify(at(NOW_S - 300))).toEqual({ ok: true });
    expect(verify(at(NOW_S + 300))).toEqual({ ok: true });
    expect(verify(at(NOW_S - 301))).toEqual({ ok: false, reason: 'stale-timestamp' });
    expect(verify(at(NOW_S + 301))).toEqual({ ok: false, reason: 'stale-timestamp' });
    // Milliseconds sent by mistake land far in the future.
    expect(verify({ ...at(NOW_S * 1000) })).toEqual({ ok: false, reason: 'stale-timestamp' });
  });

  it('rotation: any of several offered signatures may match', () => {
    const oldSig = signWebhook(BODY, 'old-secret', NOW_S)[SIGNATURE_HEADER];
    const newSig = signWebhook(BODY, SECRET, NOW_S)[SIGNATURE_HEADER];
    expect(verify({ [TIMESTAMP_HEADER]: String(NOW_S), [SIGNATURE_HEADER]: `${oldSig}, ${newSig}` })).toEqual({ ok: true });
    expect(verify({ [TIMESTAMP_HEADER]: String(NOW_S), [SIGNATURE_HEADER]: `v2=abc,${newSig}` })).toEqual({ ok: true });
    expect(verify({ [TIMESTAMP_HEADER]: String(NOW_S), [SIGNATURE_HEADER]: oldSig })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rotation: the verifier may hold the old and the new secret', () => {
    expect(verify(signWebhook(BODY, 'old-secret', NOW_S), { secret: ['old-secret', SECRET] })).toEqual({ ok: true });
  });

  it('a missing secret is a configuration error, not a verdict', () => {
    expect(() => verify(signWebhook(BODY, SECRET, NOW_S), { secret: '' })).toThrow(/secret is empty/);
    expect(() => verify({}, { secret: '' })).toThrow(/secret is empty/);
    expect(() => verify(signWebhook(BODY, SECRET, NOW_S), { secret: [] })).toThrow(/no webhook signing secret/);
    expect(() => signWebhook(BODY, '', NOW_S)).toThrow(/secret is empty/);
  });
});
