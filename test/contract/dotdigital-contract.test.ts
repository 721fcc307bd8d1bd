/**
 * Contract: what the Dotdigital connector sends, and what the Dotdigital sandbox answers, validate against
 * Dotdigital's OpenAPI documents (v3 contacts, v3 insight data, v3 configuration, v2). The documents close some
 * `allOf` members with `additionalProperties: false`, which read literally rejects their own examples; they are
 * read with the members merged, as Dotdigital's generators do (see `dotdigitalSpec`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dotdigitalRequestsFor } from '../../functions/shared/dotdigital/requests';
import type { BusinessEvent } from '../../functions/shared/events';
import { describeWithSpec, validateRequest, validateResponse } from '../support/openapi';
import { type DotdigitalRig, dotdigitalConfig, startDotdigitalRig } from '../support/dotdigitalFixtures';
import { DOTDIGITAL_SPECS, dotdigitalSpecOperation as operationOf } from '../support/dotdigitalSpecs';
import { orderLifeEvents } from '../support/klaviyoFixtures';

describeWithSpec(DOTDIGITAL_SPECS.contacts, 'Dotdigital contract', () => {
  const config = dotdigitalConfig();
  const events = [...orderLifeEvents('debenhams', 'K1-A'), ...orderLifeEvents('decathlon', 'K2-A')];

  it('every request plan prints (live and history forms) validates against the documents', () => {
    for (const backfill of [false, true]) {
      for (const event of events) {
        for (const request of dotdigitalRequestsFor(event as BusinessEvent, config, { backfill })) {
          const url = new URL(request.url);
          const { spec, template } = operationOf(request.method, url.pathname);
          // The record PUT documents its body as a JSON document in a string.
          const body = template.endsWith('{recordId}') ? JSON.stringify(request.body) : request.body;
          expect(validateRequest(spec, request.method, template, { body }), `${request.method} ${template}`).toEqual([]);
        }
      }
    }
  });

  describeWithSpec(DOTDIGITAL_SPECS.insightData, 'against the sandbox', () => {
    let rig: DotdigitalRig;
    beforeAll(async () => {
      rig = await startDotdigitalRig({ sandbox: { importPolls: 1 } });
      for (const event of orderLifeEvents('debenhams', 'K3-A')) await rig.connector.deliverOne(event);
      await rig.connector.deliverMany?.(orderLifeEvents('decathlon', 'K4-A', { backfill: true }));
    });
    afterAll(() => rig.close());

    it('the sandbox accepted every request (it validates each with its own schemas) and documented answers validate', async () => {
      const rejected = rig.sandbox.requests.filter((r) => r.status >= 400 && !(r.status === 404 && r.method === 'GET'));
      expect(rejected).toEqual([]);
      // Replay the GETs to read the answers the sandbox gives; bodies of writes were checked on the way in.
      const headers = { Authorization: `Basic ${Buffer.from('apiuser-marketbridge@apiconnector.com:sandbox-password').toString('base64')}` };
      const gets = rig.sandbox.requests.filter((r) => r.method === 'GET' && r.status === 200);
      expect(gets.length).toBeGreaterThan(3);
      for (const request of gets) {
        const response = await fetch(`${new URL(rig.sandbox.url).origin}${request.path}`, { headers });
        const { spec, template } = operationOf('GET', request.path);
        expect(validateResponse(spec, 'GET', template, response.status, await response.json()), `GET ${template}`).toEqual([]);
      }
    });

    it('the contact PATCH answer validates as a v3 contact', async () => {
      const headers = {
        Authorization: `Basic ${Buffer.from('apiuser-marketbridge@apiconnector.com:sandbox-password').toString('base64')}`,
        'content-type': 'application/json',
      };
      const path = '/contacts/v3/mirakl_id/mirakl%3Adebenhams%3AC-1001';
      const response = await fetch(`${rig.sandbox.apiEndpoint}${path}`, { method: 'PATCH', headers, body: JSON.stringify({ dataFields: { FIRSTNAME: 'J' } }) });
      const { spec, template } = operationOf('PATCH', path);
      expect(response.status).toBe(200);
      expect(validateResponse(spec, 'PATCH', template, 200, await response.json())).toEqual([]);
    });
  });
});
