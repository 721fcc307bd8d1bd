/**
 * Contract-test helper: loads a vendor OpenAPI document from `../shared/specs` (outside the repository, so it may be
 * absent on a fresh clone) and validates requests and responses against it with ajv. Handles OpenAPI 3.1, 3.0
 * (`nullable`, boolean `exclusiveMinimum`) and Swagger 2.0 (`definitions`, `in: body`, `x-nullable`); vendor
 * extensions and annotations (`example`, `x-*`, `discriminator`) are ignored. Compiled validators are cached per
 * document, so validating thousands of records costs one compilation.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Vendor documents live beside the repository (`/work/shared/specs` next to `/work/main`). */
export const SPECS_DIR = path.resolve(repoRoot, '../shared/specs');

type Json = Record<string, unknown>;

export interface OpenApiSpec {
  /** Path relative to the specs directory, e.g. `mirakl/mirakl-mmp-seller-openapi.json`. */
  readonly rel: string;
  /** 2 for Swagger 2.0, 3 for OpenAPI 3.x. */
  readonly major: 2 | 3;
  /** The normalised document (nullable and draft-4 idioms rewritten to JSON Schema 2020-12). */
  readonly doc: Json;
}

export interface RequestToValidate {
  /** Repeated parameters may be given as arrays; comma-separated lists as one string. */
  query?: Record<string, string | string[]>;
  body?: unknown;
  headers?: Record<string, string>;
}

export function specPath(rel: string): string {
  return path.join(SPECS_DIR, rel);
}

export function specAvailable(rel: string): boolean {
  return existsSync(specPath(rel));
}

const specs = new Map<string, OpenApiSpec>();

export function loadSpec(rel: string): OpenApiSpec {
  const cached = specs.get(rel);
  if (cached) return cached;
  const file = specPath(rel);
  if (!existsSync(file)) throw new Error(`${file} not present`);
  const text = readFileSync(file, 'utf8');
  const raw = (/\.ya?ml$/i.test(file) ? parseYaml(text, { maxAliasCount: -1 }) : JSON.parse(text)) as Json;
  const spec = openApiSpec(rel, raw);
  specs.set(rel, spec);
  return spec;
}

/** Wraps an already-parsed document (e.g. a fragment written inline in a test) for the validators. */
export function openApiSpec(rel: string, raw: Record<string, unknown>): OpenApiSpec {
  const major = typeof raw.swagger === 'string' && raw.swagger.startsWith('2') ? 2 : 3;
  return { rel, major, doc: normalise(raw) as Json };
}

/**
 * Runs the suite when the vendor document is present; otherwise registers a skipped suite and says why, so a
 * checkout without `../shared` still passes while making the gap visible.
 */
export function describeWithSpec(rel: string, name: string, fn: (spec: OpenApiSpec) => void): void {
  if (!specAvailable(rel)) {
    console.log(`skipped: ../shared/specs/${rel} not present`);
    describe.skip(name, () => {
      it(`needs ../shared/specs/${rel}`, () => undefined);
    });
    return;
  }
  describe(name, () => fn(loadSpec(rel)));
}

/** Rewrites OpenAPI 3.0 / Swagger 2.0 idioms into plain JSON Schema so one ajv dialect validates every vendor. */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = normalise(value);
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[bound] === 'boolean') {
      if (out[bound] && typeof out[limit] === 'number') {
        out[bound] = out[limit];
        delete out[limit];
      } else {
        delete out[bound];
      }
    }
  }
  if (out.nullable === true || out['x-nullable'] === true) {
    delete out.nullable;
    delete out['x-nullable'];
    const composite = '$ref' in out || 'allOf' in out || 'anyOf' in out || 'oneOf' in out;
    if (typeof out.type === 'string' && !composite) {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const DOC_ID = 'spec';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Compiled {
  ajv: Ajv2020;
  validators: Map<string, ValidateFunction>;
}
const compiledByDoc = new WeakMap<Json, Compiled>();

function compiledFor(spec: OpenApiSpec): Compiled {
  const existing = compiledByDoc.get(spec.doc);
  if (existing) return existing;
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    validateSchema: false,
    // Vendor patterns are written for Java/JS engines without the `u` flag.
    unicodeRegExp: false,
  });
  addFormats(ajv);
  // Vendor-specific formats ("with decimals", "int32", "email-relay", …) are annotations, not constraints.
  for (const format of collectFormats(spec.doc)) {
    if (!(format in ajv.formats)) ajv.addFormat(format, true);
  }
  ajv.addSchema(spec.doc, DOC_ID);
  const compiled = { ajv, validators: new Map<string, ValidateFunction>() };
  compiledByDoc.set(spec.doc, compiled);
  return compiled;
}

function collectFormats(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) collectFormats(item, into);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'format' && typeof value === 'string') into.add(value);
      else collectFormats(value, into);
    }
  }
  return into;
}

function escapePointer(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1');
}

function atPointer(doc: Json, pointer: string): unknown {
  let node: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[part];
  }
  return node;
}

/** Follows `$ref` chains on OpenAPI objects (responses, parameters, request bodies), returning object and pointer. */
function deref(doc: Json, node: unknown, pointer: string): { node: Json; pointer: string } | undefined {
  let current = node;
  let at = pointer;
  for (let hops = 0; hops < 20; hops += 1) {
    if (current === null || typeof current !== 'object') return undefined;
    const ref = (current as Json).$ref;
    if (typeof ref !== 'string') return { node: current as Json, pointer: at };
    if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref} is not supported`);
    at = ref.slice(1);
    current = atPointer(doc, at);
  }
  throw new Error(`$ref cycle at ${pointer}`);
}

function validatorAt(spec: OpenApiSpec, pointer: string): ValidateFunction {
  const compiled = compiledFor(spec);
  let validate = compiled.validators.get(pointer);
  if (!validate) {
    validate = compiled.ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
    compiled.validators.set(pointer, validate);
  }
  return validate;
}

const MAX_REPORTED_ERRORS = 50;

function formatErrors(prefix: string, errors: ErrorObject[] | null | undefined): string[] {
  if (!errors?.length) return [];
  const lines = errors.map((error) => {
    const where = `${prefix}${error.instancePath}`;
    const detail =
      error.keyword === 'additionalProperties'
        ? ` (${String((error.params as { additionalProperty?: string }).additionalProperty)})`
        : error.keyword === 'enum'
          ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    return `${where} ${error.message ?? error.keyword}${detail}`;
  });
  const unique = [...new Set(lines)];
  return unique.length > MAX_REPORTED_ERRORS
    ? [...unique.slice(0, MAX_REPORTED_ERRORS), `… ${unique.length - MAX_REPORTED_ERRORS} more`]
    : unique;
}

interface Operation {
  node: Json;
  pointer: string;
  pathItem: Json;
  pathPointer: string;
}

function operation(spec: OpenApiSpec, method: string, pathTemplate: string): Operation {
  const paths = spec.doc.paths as Json | undefined;
  const lower = method.toLowerCase();
  if (!HTTP_METHODS.includes(lower)) throw new Error(`not an HTTP method: ${method}`);
  const pathPointer = `/paths/${escapePointer(pathTemplate)}`;
  const pathItem = deref(spec.doc, paths?.[pathTemplate], pathPointer);
  if (!pathItem) throw new Error(`${spec.rel}: no path ${pathTemplate}`);
  const op = pathItem.node[lower];
  if (!op || typeof op !== 'object') throw new Error(`${spec.rel}: no operation ${method.toUpperCase()} ${pathTemplate}`);
  return { node: op as Json, pointer: `${pathItem.pointer}/${lower}`, pathItem: pathItem.node, pathPointer: pathItem.pointer };
}

/** Picks the JSON media type of a content map (OpenAPI 3), falling back to the first one declared. */
function jsonMediaType(content: Json): string | undefined {
  const types = Object.keys(content);
  return types.find((t) => t === 'application/json') ?? types.find((t) => /json/i.test(t)) ?? types[0];
}

export function validateResponse(
  spec: OpenApiSpec,
  method: string,
  pathTemplate: string,
  status: number,
  body: unknown,
): string[] {
  const op = operation(spec, method, pathTemplate);
  const responses = (op.node.responses ?? {}) as Json;
  const code = String(status);
  const key = [code, `${code[0]}XX`, `${code[0]}xx`, 'default'].find((k) => k in responses);
  const label = `${method.toUpperCase()} ${pathTemplate} ${status}`;
  if (!key) return [`${label}: status not documented (documented: ${Object.keys(responses).join(', ')})`];
  const response = deref(spec.doc, responses[key], `${op.pointer}/responses/${escapePointer(key)}`);
  if (!response) return [`${label}: response object unreadable`];
  let schemaPointer: string | undefined;
  if (spec.major === 2) {
    if (response.node.schema) schemaPointer = `${response.pointer}/schema`;
  } else if (response.node.content && typeof response.node.content === 'object') {
    const media = jsonMediaType(response.node.content as Json);
    const entry = media ? ((response.node.content as Json)[media] as Json) : undefined;
    if (media && entry?.schema) schemaPointer = `${response.pointer}/content/${escapePointer(media)}/schema`;
  }
  // A response documented without a schema constrains nothing about the body.
  if (!schemaPointer) return [];
  const validate = validatorAt(spec, schemaPointer);
  return validate(body) ? [] : formatErrors('response', validate.errors);
}

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  description: string;
  schemaPointer?: string;
  /** Swagger 2 puts the schema keywords on the parameter itself. */
  inlineSchema?: Json;
}

/**
 * Mirakl documents its paging, sort and locale parameters once in the "General Notes" and only announces them in
 * each operation's description ("This resource supports offset pagination", "supports `locale` parameter").
 */
function announcedParameters(description: string): Parameter[] {
  const param = (name: string, schema: Json): Parameter => ({
    name,
    in: 'query',
    required: false,
    description: 'documented in the vendor General Notes',
    inlineSchema: schema,
  });
  const found: Parameter[] = [];
  if (/offset pagination/i.test(description)) {
    found.push(
      param('max', { type: 'integer', minimum: 1, maximum: 100 }),
      param('offset', { type: 'integer', minimum: 0 }),
      param('sort', { type: 'string' }),
      param('order', { type: 'string', enum: ['asc', 'desc'] }),
    );
  }
  if (/seek pagination/i.test(description)) {
    found.push(
      param('limit', { type: 'integer', minimum: 1 }),
      param('page_token', { type: 'string' }),
      param('sort', { type: 'string' }),
    );
  }
  if (/supports <code>locale<\/code> parameter/i.test(description)) found.push(param('locale', { type: 'string' }));
  return found;
}

function parametersOf(spec: OpenApiSpec, op: Operation): Parameter[] {
  const byKey = new Map<string, Parameter>();
  const add = (list: unknown, pointer: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((entry, index) => {
      const resolved = deref(spec.doc, entry, `${pointer}/${index}`);
      if (!resolved) return;
      const p = resolved.node;
      const parameter: Parameter = {
        name: String(p.name),
        in: String(p.in),
        required: p.required === true,
        description: typeof p.description === 'string' ? p.description : '',
      };
      if (p.schema) parameter.schemaPointer = `${resolved.pointer}/schema`;
      else if (p.in !== 'body') {
        const { name: _name, in: _in, required: _required, description: _description, ...schema } = p;
        parameter.inlineSchema = schema;
      }
      byKey.set(`${parameter.in}:${parameter.name}`, parameter);
    });
  };
  const description = typeof op.node.description === 'string' ? op.node.description : '';
  for (const implicit of announcedParameters(description)) byKey.set(`query:${implicit.name}`, implicit);
  add(op.pathItem.parameters, `${op.pathPointer}/parameters`);
  add(op.node.parameters, `${op.pointer}/parameters`);
  return [...byKey.values()];
}

function parameterValidator(spec: OpenApiSpec, op: Operation, parameter: Parameter): ValidateFunction {
  if (parameter.schemaPointer) return validatorAt(spec, parameter.schemaPointer);
  const compiled = compiledFor(spec);
  const key = `${op.pointer}#${parameter.in}:${parameter.name}`;
  let validate = compiled.validators.get(key);
  if (!validate) {
    validate = compiled.ajv.compile(parameter.inlineSchema ?? {});
    compiled.validators.set(key, validate);
  }
  return validate;
}

function schemaOf(spec: OpenApiSpec, parameter: Parameter): Json {
  const node = parameter.schemaPointer
    ? deref(spec.doc, atPointer(spec.doc, parameter.schemaPointer), parameter.schemaPointer)?.node
    : parameter.inlineSchema;
  return node ?? {};
}

function primaryType(schema: Json): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') as string | undefined;
  return undefined;
}

/** Query strings carry text; turn each value into what its schema describes before validating. */
function coerce(raw: string, type: string | undefined): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

function parameterValues(spec: OpenApiSpec, parameter: Parameter, given: string | string[]): unknown[] {
  const schema = schemaOf(spec, parameter);
  const values = Array.isArray(given) ? given : [given];
  const type = primaryType(schema);
  if (type === 'array') {
    const itemType = primaryType(deref(spec.doc, schema.items ?? {}, '')?.node ?? {});
    const items = values.flatMap((v) => v.split(',')).map((v) => coerce(v, itemType));
    return [items];
  }
  // Vendors (Mirakl) type some list filters as a single string and describe them as comma-separated.
  if (/comma[- ]separated/i.test(parameter.description) && type === 'string') {
    return values.flatMap((v) => v.split(','));
  }
  return values.map((v) => coerce(v, type));
}

export function validateRequest(
  spec: OpenApiSpec,
  method: string,
  pathTemplate: string,
  request: RequestToValidate,
): string[] {
  const op = operation(spec, method, pathTemplate);
  const parameters = parametersOf(spec, op);
  const errors: string[] = [];

  const query = request.query ?? {};
  const queryParams = parameters.filter((p) => p.in === 'query');
  for (const name of Object.keys(query)) {
    if (!queryParams.some((p) => p.name === name)) errors.push(`query.${name}: unknown parameter`);
  }
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const parameter of parameters) {
    if (parameter.in !== 'query' && parameter.in !== 'header') continue;
    const given = parameter.in === 'query' ? query[parameter.name] : headers[parameter.name.toLowerCase()];
    if (given === undefined) {
      if (parameter.required) errors.push(`${parameter.in}.${parameter.name}: required parameter missing`);
      continue;
    }
    const validate = parameterValidator(spec, op, parameter);
    for (const value of parameterValues(spec, parameter, given)) {
      if (!validate(value)) {
        errors.push(...formatErrors(`${parameter.in}.${parameter.name}`, validate.errors).map((e) => `${e} (got ${JSON.stringify(value)})`));
      }
    }
  }

  let bodyPointer: string | undefined;
  let bodyRequired = false;
  if (spec.major === 2) {
    const bodyParam = parameters.find((p) => p.in === 'body');
    bodyPointer = bodyParam?.schemaPointer;
    bodyRequired = bodyParam?.required ?? false;
  } else if (op.node.requestBody) {
    const requestBody = deref(spec.doc, op.node.requestBody, `${op.pointer}/requestBody`);
    const content = (requestBody?.node.content ?? {}) as Json;
    const media = jsonMediaType(content);
    bodyRequired = requestBody?.node.required === true;
    if (requestBody && media && (content[media] as Json | undefined)?.schema) {
      bodyPointer = `${requestBody.pointer}/content/${escapePointer(media)}/schema`;
    }
  }
  if (request.body === undefined) {
    if (bodyRequired) errors.push('body: required request body missing');
  } else if (bodyPointer) {
    const validate = validatorAt(spec, bodyPointer);
    if (!validate(request.body)) errors.push(...formatErrors('body', validate.errors));
  } else {
    errors.push(`body: ${method.toUpperCase()} ${pathTemplate} documents no request body`);
  }
  return errors;
}
