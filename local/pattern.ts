/**
 * EventBridge event-pattern matching, so the local bus routes with the very rules the CDK stack deploys.
 * Covers exact-value lists, nested objects, arrays in events (any element matches), `prefix`, `suffix`,
 * `equals-ignore-case`, `wildcard`, `anything-but`, `exists`, `numeric` and `$or`
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html). `cidr` is not
 * used by any MarketBridge rule and is rejected rather than silently mis-matched.
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const MISSING = Symbol('missing');
type Value = Json | typeof MISSING;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function wildcardRegex(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}

/** Matches `prefix`/`suffix` operands, which may themselves be `{ "equals-ignore-case": "…" }`. */
function affixMatches(value: string, operand: unknown, kind: 'prefix' | 'suffix'): boolean {
  let text = value;
  let affix: unknown = operand;
  if (isObject(operand) && typeof operand['equals-ignore-case'] === 'string') {
    text = value.toLowerCase();
    affix = operand['equals-ignore-case'].toLowerCase();
  }
  if (typeof affix !== 'string') throw new Error(`${kind} needs a string`);
  return kind === 'prefix' ? text.startsWith(affix) : text.endsWith(affix);
}

const NUMERIC_OPS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function numericMatches(value: number, spec: unknown): boolean {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0) throw new Error('numeric needs [op, n, …]');
  for (let i = 0; i < spec.length; i += 2) {
    const op = NUMERIC_OPS[String(spec[i])];
    const operand = spec[i + 1];
    if (!op || typeof operand !== 'number') throw new Error(`numeric: bad comparison ${JSON.stringify(spec)}`);
    if (!op(value, operand)) return false;
  }
  return true;
}

/** One matcher of a leaf's list against one scalar value (arrays in the event are expanded by the caller). */
function scalarMatches(matcher: unknown, value: Json): boolean {
  if (!isObject(matcher)) return matcher === value;
  const [operator, ...rest] = Object.keys(matcher);
  if (!operator || rest.length > 0) throw new Error(`a matcher has exactly one operator: ${JSON.stringify(matcher)}`);
  const operand = matcher[operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return typeof value === 'string' && affixMatches(value, operand, operator);
    case 'equals-ignore-case':
      if (typeof operand !== 'string') throw new Error('equals-ignore-case needs a string');
      return typeof value === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'wildcard':
      if (typeof operand !== 'string') throw new Error('wildcard needs a string');
      return typeof value === 'string' && wildcardRegex(operand).test(value);
    case 'numeric':
      return typeof value === 'number' && numericMatches(value, operand);
    case 'anything-but': {
      if (isObject(operand)) return !scalarMatches(operand, value);
      const excluded = Array.isArray(operand) ? operand : [operand];
      return !excluded.some((item) => scalarMatches(item, value));
    }
    default:
      throw new Error(`unsupported event pattern operator "${operator}"`);
  }
}

function leafMatches(matchers: unknown[], value: Value): boolean {
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) {
      const exists = value !== MISSING && !(Array.isArray(value) && value.length === 0);
      return matcher.exists === exists;
    }
    if (value === MISSING) return false;
    // An array in the event matches when any of its elements matches (EventBridge semantics).
    const values = Array.isArray(value) ? value : [value];
    return values.some((element) => scalarMatches(matcher, element));
  });
}

function objectMatches(pattern: Record<string, unknown>, event: Value): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2) throw new Error('$or needs at least two patterns');
      if (!sub.some((alternative) => isObject(alternative) && objectMatches(alternative, event))) return false;
      continue;
    }
    const value: Value = isObject(event) && key in event ? (event[key] as Json) : MISSING;
    if (Array.isArray(sub)) {
      if (!leafMatches(sub, value)) return false;
    } else if (isObject(sub)) {
      if (value === MISSING || !isObject(value) || !objectMatches(sub, value)) return false;
    } else {
      throw new Error(`pattern field "${key}" must be an array of matchers or an object`);
    }
  }
  return true;
}

/** True when the event (as EventBridge delivers it) matches the pattern. Throws on a malformed pattern. */
export function matchesPattern(pattern: object, event: object): boolean {
  if (!isObject(pattern)) throw new Error('an event pattern is a JSON object');
  return objectMatches(pattern, event as Json);
}
