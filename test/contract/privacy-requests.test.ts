/** What Klaviyo erasure sends, against Klaviyo's OpenAPI (revision 2026-07-15): the profile lookup and the deletion job. */
import { expect, it } from 'vitest';
import { createHttpClient } from '../../functions/shared/http';
import { klaviyoHeaders } from '../../functions/shared/klaviyo/requests';
import { KLAVIYO_ERASURE_OPERATIONS, klaviyoEraser } from '../../functions/shared/privacy/klaviyo';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';

describeWithSpec('klaviyo/stable.json', 'Klaviyo erasure requests', (spec) => {
  it('looks the profile up by external_id and asks for its deletion by id, both as documented', async () => {
    const sent: { method: string; url: URL; headers: Record<string, string>; body?: unknown }[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => void (headers[name] = value));
      sent.push({ method: init?.method ?? 'GET', url, headers, ...(init?.body ? { body: JSON.parse(String(init.body)) } : {}) });
      return url.pathname === KLAVIYO_ERASURE_OPERATIONS.getProfiles.path
        ? new Response(JSON.stringify({ data: [{ type: 'profile', id: '01GDDKASAP8TKDDA2GRZDSVP4H', attributes: {}, links: { self: 'x' } }], links: { self: 'x' } }), { status: 200, headers: { 'content-type': 'application/vnd.api+json' } })
        : new Response(null, { status: 202 });
    };
    const erase = klaviyoEraser({
      http: createHttpClient({ fetch: fake }),
      baseUrl: 'https://a.klaviyo.com',
      headers: async () => klaviyoHeaders('pk_test'),
      utilisation: 0.95,
      instances: 1,
    });
    await erase('mirakl:debenhams:C-1001');
    const [lookup, deletion] = sent;
    expect(lookup?.url.searchParams.get('filter')).toBe('equals(external_id,"mirakl:debenhams:C-1001")');
    expect(validateRequest(spec, 'GET', '/api/profiles', { query: Object.fromEntries(lookup!.url.searchParams), headers: lookup!.headers })).toEqual([]);
    expect(validateRequest(spec, 'POST', '/api/data-privacy-deletion-jobs', { body: deletion?.body, headers: deletion!.headers })).toEqual([]);
    expect(validateResponse(spec, 'POST', '/api/data-privacy-deletion-jobs', 202, undefined)).toEqual([]);
  });
});
