// Lambda event filtering (FilterCriteria) for stream records, with the semantics of EventBridge patterns that
// Lambda uses: a pattern is an object whose leaves are arrays of matchers; keys are ANDed, the matchers of a
// leaf are ORed, and several filters of one mapping are ORed. Matchers only see leaf values (strings, numbers,
// booleans, null): `{"presentKey": [{"exists": true}]}` does not match `presentKey: {S: "x"}` because that value
// is an object, exactly as on AWS (the filter must go down to `{"S": [...]}`). Arrays in the record are
// flattened, so a leaf matches when any element matches. DynamoDB numbers (`N`) are strings: a `numeric`
// matcher never matches them, on AWS as here; it does match `dynamodb.ApproximateCreationDateTime` and
// `dynamodb.SizeBytes`, which are JSON numbers.

/** Thrown for a pattern Lambda would reject with "Invalid filter pattern definition". */
export class InvalidFilterPatternError extends Error {}

type Leaf = string | number | boolean | null;
type ValueMatcher = (value: Leaf) => boolean;

/** A condition on one path: either a list of value matchers (ORed) or an `exists` test. */
type Condition =
  | { readonly path: readonly string[]; readonly kind: 'values'; readonly matchers: readonly ValueMatcher[] }
  | { readonly path: readonly string[]; readonly kind: 'exists'; readonly exists: boolean }
  | {
      readonly path: readonly string[];
      readonly kind: 'or';
      readonly alternatives: readonly CompiledPattern[];
    };

type CompiledPattern = readonly Condition[];

/** Compiles the `Pattern` strings of a mapping's FilterCriteria; undefined when there are none (all records pass). */
export function compileFilters(patterns: readonly string[]): ((record: unknown) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const compiled = patterns.map((p) => compilePattern(parsePattern(p)));
  return (record) => compiled.some((c) => matchesCompiled(c, record));
}

/** Compiles one pattern (already parsed JSON) into a predicate. */
export function compilePattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw new InvalidFilterPatternError('A filter pattern must be a JSON object');
  const conditions: Condition[] = [];
  compileObject(pattern, [], conditions);
  return conditions;
}

/** True when the record matches the pattern (a JSON string or an object). */
export function matchesPattern(pattern: string | object, record: unknown): boolean {
  const compiled = compilePattern(typeof pattern === 'string' ? parsePattern(pattern) : pattern);
  return matchesCompiled(compiled, record);
}

function parsePattern(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidFilterPatternError(`Invalid filter pattern definition: ${text}`);
  }
}

function compileObject(pattern: Record<string, unknown>, path: string[], out: Condition[]): void {
  const keys = Object.keys(pattern);
  if (keys.length === 0 && path.length > 0) {
    throw new InvalidFilterPatternError(`Empty object at ${path.join('.')}`);
  }
  for (const key of keys) {
    const value = pattern[key];
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidFilterPatternError('$or needs an array of at least two patterns');
      }
      out.push({ path, kind: 'or', alternatives: value.map((alt) => compilePatternAt(alt, path)) });
    } else if (Array.isArray(value)) {
      out.push(...compileLeaf(value, [...path, key]));
    } else if (isPlainObject(value)) {
      compileObject(value, [...path, key], out);
    } else {
      throw new InvalidFilterPatternError(
        `The value of ${[...path, key].join('.')} must be an array of matchers or an object`,
      );
    }
  }
}

/** An `$or` alternative is a pattern relative to where `$or` appears. */
function compilePatternAt(alternative: unknown, path: string[]): CompiledPattern {
  if (!isPlainObject(alternative)) throw new InvalidFilterPatternError('$or alternatives must be objects');
  const conditions: Condition[] = [];
  compileObject(alternative, path, conditions);
  return conditions;
}

function compileLeaf(specs: unknown[], path: string[]): Condition[] {
  if (specs.length === 0) throw new InvalidFilterPatternError(`Empty matcher list at ${path.join('.')}`);
  const matchers: ValueMatcher[] = [];
  const exists: boolean[] = [];
  for (const spec of specs) {
    if (isPlainObject(spec) && 'exists' in spec) {
      if (Object.keys(spec).length !== 1 || typeof spec.exists !== 'boolean') {
        throw new InvalidFilterPatternError(`Invalid exists matcher at ${path.join('.')}`);
      }
      exists.push(spec.exists);
    } else {
      matchers.push(compileMatcher(spec, path));
    }
  }
  // Matchers of one leaf are ORed; an `exists` next to value matchers is one more alternative.
  if (exists.length === 0) return [{ path, kind: 'values', matchers }];
  const alternatives: CompiledPattern[] = exists.map((e) => [{ path, kind: 'exists', exists: e }]);
  if (matchers.length > 0) alternatives.push([{ path, kind: 'values', matchers }]);
  if (alternatives.length === 1) return alternatives[0] as Condition[];
  return [{ path: [], kind: 'or', alternatives }];
}

function compileMatcher(spec: unknown, path: string[]): ValueMatcher {
  const where = path.join('.');
  if (spec === null) return (v) => v === null;
  if (typeof spec === 'string') return (v) => v === spec;
  if (typeof spec === 'number') return (v) => typeof v === 'number' && v === spec;
  if (typeof spec === 'boolean') return (v) => v === spec;
  if (!isPlainObject(spec) || Object.keys(spec).length !== 1) {
    throw new InvalidFilterPatternError(`Invalid matcher at ${where}: ${JSON.stringify(spec)}`);
  }
  const [op, arg] = Object.entries(spec)[0] as [string, unknown];
  switch (op) {
    case 'prefix':
      return stringTest(
        arg,
        where,
        (v, s) => v.startsWith(s),
        (v, s) => v.toLowerCase().startsWith(s),
      );
    case 'suffix':
      return stringTest(
        arg,
        where,
        (v, s) => v.endsWith(s),
        (v, s) => v.toLowerCase().endsWith(s),
      );
    case 'equals-ignore-case': {
      const s = requireString(arg, where).toLowerCase();
      return (v) => typeof v === 'string' && v.toLowerCase() === s;
    }
    case 'wildcard': {
      const re = wildcardRegExp(requireString(arg, where));
      return (v) => typeof v === 'string' && re.test(v);
    }
    case 'numeric':
      return numericMatcher(arg, where);
    case 'anything-but':
      return anythingBut(arg, where);
    default:
      throw new InvalidFilterPatternError(`Unsupported filter operator "${op}" at ${where}`);
  }
}

/** `prefix`/`suffix` take a string or `{"equals-ignore-case": string}`. */
function stringTest(
  arg: unknown,
  where: string,
  exact: (v: string, s: string) => boolean,
  ignoreCase: (v: string, s: string) => boolean,
): ValueMatcher {
  if (typeof arg === 'string') return (v) => typeof v === 'string' && exact(v, arg);
  if (isPlainObject(arg) && Object.keys(arg).length === 1 && 'equals-ignore-case' in arg) {
    const s = requireString(arg['equals-ignore-case'], where).toLowerCase();
    return (v) => typeof v === 'string' && ignoreCase(v, s);
  }
  throw new InvalidFilterPatternError(`Invalid prefix/suffix matcher at ${where}`);
}

function anythingBut(arg: unknown, where: string): ValueMatcher {
  if (arg === null || typeof arg === 'string' || typeof arg === 'number' || typeof arg === 'boolean') {
    return (v) => v !== arg;
  }
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw new InvalidFilterPatternError(`Empty anything-but list at ${where}`);
    for (const a of arg) {
      if (a !== null && typeof a !== 'string' && typeof a !== 'number' && typeof a !== 'boolean') {
        throw new InvalidFilterPatternError(`anything-but lists hold plain values only (${where})`);
      }
    }
    const excluded = new Set<unknown>(arg);
    return (v) => !excluded.has(v);
  }
  if (isPlainObject(arg) && Object.keys(arg).length === 1) {
    const [op, value] = Object.entries(arg)[0] as [string, unknown];
    if (op === 'equals-ignore-case') {
      const list = (Array.isArray(value) ? value : [value]).map((s) => requireString(s, where).toLowerCase());
      return (v) => typeof v !== 'string' || !list.includes(v.toLowerCase());
    }
    if (op === 'prefix' || op === 'suffix' || op === 'wildcard') {
      const inner = compileMatcher({ [op]: value }, [where]);
      return (v) => typeof v !== 'string' || !inner(v);
    }
  }
  throw new InvalidFilterPatternError(`Invalid anything-but matcher at ${where}`);
}

const COMPARATORS: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** `{"numeric": [">", 0, "<=", 5]}`: one or two comparisons, all of which must hold; numbers only. */
function numericMatcher(arg: unknown, where: string): ValueMatcher {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw new InvalidFilterPatternError(`Invalid numeric matcher at ${where}`);
  }
  const tests: Array<(v: number) => boolean> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const bound = arg[i + 1];
    const compare = typeof op === 'string' ? COMPARATORS[op] : undefined;
    if (!compare || typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new InvalidFilterPatternError(`Invalid numeric matcher at ${where}`);
    }
    tests.push((v) => compare(v, bound));
  }
  if (tests.length === 2 && (arg[0] === '=' || arg[2] === '=')) {
    throw new InvalidFilterPatternError(`"=" cannot be part of a numeric range (${where})`);
  }
  return (v) => typeof v === 'number' && tests.every((t) => t(v));
}

function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string);
    } else if (c === '*') {
      source += '.*';
    } else {
      source += escapeRegExp(c);
    }
  }
  return new RegExp(`^${source}$`, 's');
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new InvalidFilterPatternError(`Expected a string at ${where}`);
  return value;
}

function matchesCompiled(pattern: CompiledPattern, record: unknown): boolean {
  return pattern.every((condition) => {
    if (condition.kind === 'or') return condition.alternatives.some((alt) => matchesCompiled(alt, record));
    const leaves = leafValues(record, condition.path);
    if (condition.kind === 'exists') return condition.exists === leaves.length > 0;
    return leaves.some((v) => condition.matchers.some((m) => m(v)));
  });
}

/** The leaf values found at a path, looking through arrays at every level (EventBridge flattening). */
export function leafValues(root: unknown, path: readonly string[]): Leaf[] {
  let current: unknown[] = [root];
  for (const key of path) {
    const next: unknown[] = [];
    for (const value of current) {
      for (const item of flatten(value)) {
        if (isPlainObject(item) && Object.hasOwn(item, key)) next.push(item[key]);
      }
    }
    current = next;
  }
  const leaves: Leaf[] = [];
  for (const value of current) {
    for (const item of flatten(value)) {
      if (item === null || typeof item !== 'object') leaves.push(item as Leaf);
    }
  }
  return leaves;
}

function flatten(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [value];
  return value.flatMap(flatten);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
