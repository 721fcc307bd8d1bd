/**
 * Dotdigital's OpenAPI documents for contract tests: the document describing each API family the sandbox serves,
 * read as Dotdigital's generators read them. Kept apart from the fixtures, which the benchmark loads outside vitest.
 */
import { type DotdigitalService, dotdigitalOperation } from '../../local/sandboxes/dotdigital';
import { type OpenApiSpec, loadSpec, openApiSpec } from './openapi';

/** The vendor document describing each API family (under ../shared/specs, absent from a user's clone). */
export const DOTDIGITAL_SPECS: Record<DotdigitalService, string> = {
  contacts: 'dotdigital/dotdigital-contacts-service.json',
  insightData: 'dotdigital/dotdigital-insight-data-service.json',
  configuration: 'dotdigital/dotdigital-configuration-service.json',
  v2: 'dotdigital/dotdigital-v2-api-swagger.json',
};

type Json = Record<string, unknown>;

/**
 * Dotdigital's documents close some `allOf` members with `additionalProperties: false` (an insight import record is
 * `allOf: [{contactIdentity, additionalProperties: false}, {key, json}]`), which read literally rejects their own
 * examples; their generators merge the members first. Relaxing the closure on `allOf` members only does the same.
 */
function mergeAllOfMembers(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(mergeAllOfMembers);
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, mergeAllOfMembers(v)]));
  if (Array.isArray(out.allOf)) {
    out.allOf = out.allOf.map((member: unknown) => {
      if (!member || typeof member !== 'object' || (member as Json).additionalProperties !== false) return member;
      const { additionalProperties: _closed, ...open } = member as Json;
      return open;
    });
  }
  return out;
}

export function dotdigitalSpec(rel: string): OpenApiSpec {
  return openApiSpec(`${rel}#allOf-merged`, mergeAllOfMembers(loadSpec(rel).doc) as Json);
}

/** The operation a request is (route, path template, decoded path parameters) with its merged vendor document. */
export function dotdigitalSpecOperation(method: string, pathname: string) {
  const found = dotdigitalOperation(method, pathname);
  if (!found) throw new Error(`not an operation the sandbox serves: ${method} ${pathname}`);
  return { ...found, spec: dotdigitalSpec(DOTDIGITAL_SPECS[found.service]) };
}
