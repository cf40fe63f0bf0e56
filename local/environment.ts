import type { Topology } from './topology.js';

/**
 * Resolves the CloudFormation intrinsics found in function environments: `Ref` and `Fn::GetAtt`
 * through a lookup, `Fn::Join` by joining. Anything else is unresolvable locally (undefined).
 */
export function resolveIntrinsic(
  value: unknown,
  lookup: (logicalId: string, attr?: string) => string | undefined,
) {
  const walk = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (!v || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return lookup(o.Ref);
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return lookup(String(getAtt[0]), String(getAtt[1]));
    const join = o['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) {
      const parts = join[1].map(walk);
      return parts.some((p) => p === undefined) ? undefined : parts.join(String(join[0]));
    }
    return undefined;
  };
  return walk(value);
}

/** Local physical name of a table: its logical id, stable across runs so a persistent DATA_DIR keeps working. */
export const localTableName = (logicalId: string) => logicalId;

/**
 * Locally substituted values, by template variable. A template variable whose value exists only on AWS
 * (the WebSocket API's callback URL, the search domain's endpoint, the signing secret's ARN) is replaced,
 * for the functions whose template declares it and only for them, by the variables given here.
 */
export type LocalReplacements = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** What the local runtime adds to or puts in place of the template's variables. */
export interface LocalEnvironmentOverrides {
  /**
   * Set for every function, as Lambda sets `AWS_REGION` and the role's credentials for each: SDK
   * endpoints and keys, the log level.
   */
  readonly platform: Readonly<Record<string, string>>;
  readonly replacements: LocalReplacements;
}

/** Resolves Refs: a table's Ref is its name; other Refs (queue URL, state machine ARN) come from `refs`. */
function refLookup(topology: Topology, refs: ReadonlyMap<string, string>) {
  // Attributes (GetAtt) are not known locally: such variables need a replacement.
  return (id: string, attr?: string) => {
    if (attr) return undefined;
    return topology.tables.has(id) ? localTableName(id) : refs.get(id);
  };
}

/**
 * The environment one local function runs with: exactly the variables its template gives it (tables
 * resolved to their local names), its declared variables replaced where only AWS has their value,
 * the platform's variables, and the variables Lambda sets for every function (`AWS_LAMBDA_FUNCTION_NAME`,
 * memory, version). A variable another function has and this one lacks stays unset, as on AWS.
 */
export function localFunctionEnvironment(
  topology: Topology,
  functionId: string,
  overrides: LocalEnvironmentOverrides,
  refs: ReadonlyMap<string, string> = new Map(),
): Record<string, string> {
  const fn = topology.functions.get(functionId);
  if (!fn) throw new Error(`Unknown function ${functionId}`);
  const lookup = refLookup(topology, refs);
  const env: Record<string, string> = {};
  for (const [name, raw] of Object.entries(fn.environment)) {
    const value = resolveIntrinsic(raw, lookup);
    if (value !== undefined) env[name] = value;
  }
  for (const name of Object.keys(fn.environment)) Object.assign(env, overrides.replacements[name]);
  return {
    ...env,
    ...overrides.platform,
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  };
}

/**
 * The union of every function's template variables (tables resolved to their local names) with the
 * given overrides applied: for code that is not one function, such as tests that call handlers in their
 * own process, operational commands and benchmarks. The local runtime gives each function only its own
 * (`localFunctionEnvironment`).
 */
export function allFunctionsEnvironment(
  topology: Topology,
  overrides: Record<string, string>,
  refs: ReadonlyMap<string, string> = new Map(),
): Record<string, string> {
  const lookup = refLookup(topology, refs);
  const env: Record<string, string> = {};
  for (const fn of topology.functions.values()) {
    for (const [name, raw] of Object.entries(fn.environment)) {
      const value = resolveIntrinsic(raw, lookup);
      if (value !== undefined) env[name] = value;
    }
  }
  return { ...env, ...overrides };
}
