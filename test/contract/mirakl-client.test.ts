/**
 * The OR11 requests our Mirakl client sends are requests Mirakl's seller OpenAPI declares: every query parameter
 * is an OR11 parameter (or a paging/sort parameter the operation announces) with the declared type, format and
 * enum, and authentication is the documented `Authorization` API-key header.
 */
import { expect, it } from 'vitest';
import { createMiraklClient } from '../../functions/shared/mirakl/client';
import { KNOWN_ORDER_STATES } from '../../functions/shared/mirakl/orders';
import { type RecordedRequest, fakeFetch, jsonResponse } from '../support/fakeFetch';
import { type OpenApiSpec, describeWithSpec, validateRequest } from '../support/openapi';

const SPEC = 'mirakl/mirakl-mmp-seller-openapi.json';

/** Runs the client against a fake Mirakl that answers every OR11 call with `total` orders in pages. */
async function captured(run: (client: ReturnType<typeof createMiraklClient>) => Promise<unknown>, total = 250) {
  const fake = fakeFetch((request) => {
    const offset = Number(request.url.searchParams.get('offset') ?? 0);
    const max = Number(request.url.searchParams.get('max') ?? 10);
    const count = Math.max(0, Math.min(max, total - offset));
    return jsonResponse({ orders: Array.from({ length: count }, (_, i) => ({ order_id: `O-${offset + i}` })), total_count: total });
  });
  const client = createMiraklClient({ baseUrl: 'https://marketplace.mirakl.test', apiKey: 'k-123', shopId: 2010, fetch: fake.fetch });
  await run(client);
  return fake.requests;
}

function queryOf(request: RecordedRequest): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(request.url.searchParams.keys())) {
    const values = request.url.searchParams.getAll(name);
    query[name] = values.length === 1 ? values[0]! : values;
  }
  return query;
}

function or11(spec: OpenApiSpec): { description: string; parameters: { name: string; schema?: { maximum?: number } }[]; security: unknown } {
  const paths = spec.doc.paths as Record<string, Record<string, unknown>>;
  return paths['/api/orders']!.get as ReturnType<typeof or11>;
}

/** OR11 lists its sort values in the description ("Sort fields … <li><b>dateCreated</b> (Default) …"). */
function sortFields(description: string): string[] {
  const section = description.split(/Sort fields/i)[1]?.split(/extension-title/i)[0] ?? '';
  return [...section.matchAll(/<li><b>(\w+)<\/b>/g)].map((m) => m[1]!);
}

const since = new Date('2026-11-20T08:00:00.123Z');
const until = new Date('2026-11-20T09:00:00Z');

const shapes: [string, (client: ReturnType<typeof createMiraklClient>) => Promise<unknown>][] = [
  ['no filter', (c) => c.listOrders()],
  [
    'incremental poll, every page',
    async (c) => {
      for await (const _ of c.pageOrders({ startUpdateDate: since, endUpdateDate: until })) void _;
    },
  ],
  ['creation window and every known state', (c) => c.listOrders({ startDate: since, endDate: until, orderStateCodes: [...KNOWN_ORDER_STATES], max: 100 })],
  ['one state with offset', (c) => c.listOrders({ orderStateCodes: ['WAITING_ACCEPTANCE'], max: 10, offset: 20 })],
  ['re-read by order ids (chunks of 100)', (c) => c.ordersByIds(Array.from({ length: 150 }, (_, i) => `40001234${i}-A`))],
];

describeWithSpec(SPEC, 'contract: Mirakl client OR11 requests against the seller OpenAPI', (spec) => {
  const operation = or11(spec);

  it.each(shapes)('%s: every query parameter is declared with the right type, format and enum', async (_name, run) => {
    const requests = await captured(run);
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request.method).toBe('GET');
      expect(request.url.pathname).toBe('/api/orders');
      expect(validateRequest(spec, 'GET', '/api/orders', { query: queryOf(request) })).toEqual([]);
    }
  });

  it('sorts only by a sort field OR11 documents', async () => {
    const fields = sortFields(operation.description);
    expect(fields).toContain('dateCreated');
    const requests = await captured((c) => c.listOrders());
    expect(fields).toContain(requests[0]!.url.searchParams.get('sort'));
  });

  it('never sends more order ids than the declared maximum of the order_ids list', async () => {
    const declared = operation.parameters.find((p) => p.name === 'order_ids')?.schema?.maximum;
    expect(declared).toBe(100);
    const requests = await captured((c) => c.ordersByIds(Array.from({ length: 250 }, (_, i) => `O-${i}`)));
    for (const request of requests) {
      expect(request.url.searchParams.get('order_ids')!.split(',').length).toBeLessThanOrEqual(declared!);
    }
  });

  it('authenticates with the declared API-key header, as the bare key', async () => {
    const schemes = spec.doc.components as { securitySchemes: Record<string, { type: string; in: string; name: string }> };
    const used = (operation.security as Record<string, unknown>[]).flatMap((s) => Object.keys(s));
    expect(used.length).toBeGreaterThan(0);
    const [request] = await captured((c) => c.listOrders());
    for (const name of used) {
      const scheme = schemes.securitySchemes[name]!;
      expect(scheme).toMatchObject({ type: 'apiKey', in: 'header' });
      expect(request!.headers.get(scheme.name)).toBe('k-123');
    }
  });

  it('the check has teeth: undeclared parameters, bad enums and bad dates are reported', () => {
    const errors = validateRequest(spec, 'GET', '/api/orders', {
      query: { order_state_codes: 'SHIPPING,PAID', start_update_date: '20/11/2026', paginate: 'true', shop_id: 'abc' },
    });
    expect(errors.join('\n')).toMatch(/order_state_codes.*PAID|PAID.*order_state_codes/);
    expect(errors.join('\n')).toMatch(/start_update_date/);
    expect(errors.join('\n')).toMatch(/paginate: unknown parameter/);
    expect(errors.join('\n')).toMatch(/shop_id/);
  });
});
