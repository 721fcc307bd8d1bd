/**
 * The OpenAPI helper the sandbox contract tests (and the other vendors' contract tests) rely on: it must catch
 * real violations and understand each vendor's dialect, or every contract test passes for the wrong reason.
 */
import { describe, expect, it } from 'vitest';
import { describeWithSpec, openApiSpec, specAvailable, validateRequest, validateResponse } from '../support/openapi';

const v30 = openApiSpec('inline-3.0', {
  openapi: '3.0.3',
  paths: {
    '/things': {
      parameters: [{ name: 'tenant', in: 'header', required: true, schema: { type: 'string' } }],
      get: {
        parameters: [
          { $ref: '#/components/parameters/limit' },
          { name: 'ids', in: 'query', description: 'A comma-separated list of ids', schema: { type: 'string', enum: ['a', 'b'] } },
          { name: 'tags', in: 'query', schema: { type: 'array', items: { type: 'string', enum: ['x', 'y'] } } },
          { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'flag', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: {
          '200': { $ref: '#/components/responses/Things' },
          '4XX': { description: 'client error', content: { 'application/problem+json': { schema: { type: 'object', required: ['title'] } } } },
        },
      },
      post: {
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
        responses: { default: { description: 'anything' } },
      },
    },
  },
  components: {
    parameters: { limit: { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } } },
    responses: {
      Things: {
        description: 'ok',
        content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Thing' } } } },
      },
    },
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'kind'],
        example: { id: 'example' },
        'x-vendor': true,
        properties: {
          id: { type: 'string' },
          kind: { type: 'string', enum: ['small', 'big'], nullable: true },
          price: { type: 'number', format: 'with decimals', minimum: 0, exclusiveMinimum: true },
          parent: { allOf: [{ $ref: '#/components/schemas/Ref' }], nullable: true },
        },
      },
      Ref: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
    },
  },
});

const v2 = openApiSpec('inline-2.0', {
  swagger: '2.0',
  paths: {
    '/contacts': {
      post: {
        parameters: [
          { name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/Contact' } },
          { name: 'mode', in: 'query', type: 'string', enum: ['merge', 'replace'] },
        ],
        responses: { '201': { description: 'created', schema: { $ref: '#/definitions/Contact' } } },
      },
    },
  },
  definitions: {
    Contact: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' }, note: { type: 'string', 'x-nullable': true } },
    },
  },
});

describe('validateResponse', () => {
  it('follows $refs into components and OpenAPI 3.0 nullable', () => {
    expect(validateResponse(v30, 'GET', '/things', 200, [{ id: '1', kind: null, parent: null }])).toEqual([]);
    expect(validateResponse(v30, 'GET', '/things', 200, [{ id: '1', kind: 'big', parent: { id: 'p' }, extra: 1 }])).toEqual([]);
    const errors = validateResponse(v30, 'GET', '/things', 200, [{ kind: 'huge', price: 0, parent: {} }]);
    expect(errors.join('\n')).toContain("must have required property 'id'");
    expect(errors.join('\n')).toContain('/0/kind');
    expect(errors.join('\n')).toContain('/0/price');
    expect(errors.join('\n')).toContain('/0/parent');
  });

  it('matches status ranges and default, and reports undocumented statuses', () => {
    expect(validateResponse(v30, 'GET', '/things', 404, { title: 'Not found' })).toEqual([]);
    expect(validateResponse(v30, 'GET', '/things', 422, {})).not.toEqual([]);
    expect(validateResponse(v30, 'POST', '/things', 500, 'whatever')).toEqual([]);
    expect(validateResponse(v30, 'GET', '/things', 500, {})[0]).toContain('not documented');
    expect(() => validateResponse(v30, 'GET', '/missing', 200, {})).toThrow('no path');
  });

  it('understands Swagger 2.0 definitions and x-nullable', () => {
    expect(validateResponse(v2, 'POST', '/contacts', 201, { email: 'a@example.com', note: null })).toEqual([]);
    expect(validateResponse(v2, 'POST', '/contacts', 201, { email: 'not an email' })).not.toEqual([]);
  });
});

describe('validateRequest', () => {
  it('checks query types, enums, formats, comma-separated lists, arrays and unknown parameters', () => {
    const ok = { query: { limit: '10', ids: 'a,b', tags: ['x', 'y'], since: '2026-11-20T12:00:00Z', flag: 'true' }, headers: { Tenant: 't' } };
    expect(validateRequest(v30, 'GET', '/things', ok)).toEqual([]);
    const errors = validateRequest(v30, 'GET', '/things', {
      query: { limit: '101', ids: 'a,c', tags: 'x,z', since: 'yesterday', flag: 'yes', page: '2' },
    });
    const text = errors.join('\n');
    for (const bad of ['query.page: unknown parameter', 'query.limit', 'query.ids', 'query.tags', 'query.since', 'query.flag', 'header.tenant: required']) {
      expect(text).toContain(bad);
    }
  });

  it('validates request bodies, OpenAPI 3 and Swagger 2', () => {
    const headers = { tenant: 't' };
    expect(validateRequest(v30, 'POST', '/things', { body: { id: '1', kind: 'small' }, headers })).toEqual([]);
    expect(validateRequest(v30, 'POST', '/things', { body: { kind: 'small' }, headers }).join()).toContain("'id'");
    expect(validateRequest(v30, 'POST', '/things', { headers })).toEqual(['body: required request body missing']);
    expect(validateRequest(v30, 'GET', '/things', { body: {}, headers }).join()).toContain('documents no request body');
    expect(validateRequest(v2, 'POST', '/contacts', { body: { email: 'a@example.com' }, query: { mode: 'merge' } })).toEqual([]);
    expect(validateRequest(v2, 'POST', '/contacts', { body: {}, query: { mode: 'upsert' } })).toHaveLength(2);
  });

  it('knows Mirakl announces paging and locale parameters in operation descriptions', () => {
    const mirakl = openApiSpec('inline-mirakl', {
      openapi: '3.1.0',
      paths: {
        '/api/orders': {
          get: {
            description: 'This resource supports offset pagination. This resource supports <code>locale</code> parameter',
            parameters: [],
            responses: { '200': { description: 'OK' } },
          },
        },
      },
    });
    expect(validateRequest(mirakl, 'GET', '/api/orders', { query: { max: '100', offset: '0', sort: 'dateCreated', order: 'asc', locale: 'en_GB' } })).toEqual([]);
    expect(validateRequest(mirakl, 'GET', '/api/orders', { query: { max: '101', order: 'up', paginate: 'true' } })).toHaveLength(3);
  });
});

describe('specs on disk', () => {
  it('reports a missing document as unavailable', () => {
    expect(specAvailable('nobody/none.json')).toBe(false);
  });
});

// Registers a skipped suite and prints why, instead of failing, when a vendor document is absent.
describeWithSpec('nobody/none.json', 'a suite whose vendor document is absent', () => {
  it('never runs', () => {
    throw new Error('describeWithSpec ran a suite without its document');
  });
});
