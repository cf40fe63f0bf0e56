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
 * The environment every local function sees: the union of the template's function variables, with
 * tables resolved to their local names and the given overrides (endpoints, secrets) applied.
 */
export function functionEnvironment(
  topology: Topology,
  overrides: Record<string, string>,
  refs: ReadonlyMap<string, string> = new Map(),
): Record<string, string> {
  // A table's Ref is its name; other Refs (queue URL, state machine ARN) come from `refs`.
  // Attributes (GetAtt) are not known locally: such variables need an override.
  const lookup = (id: string, attr?: string) => {
    if (attr) return undefined;
    return topology.tables.has(id) ? localTableName(id) : refs.get(id);
  };
  const env: Record<string, string> = {};
  for (const fn of topology.functions.values()) {
    for (const [name, raw] of Object.entries(fn.environment)) {
      const value = resolveIntrinsic(raw, lookup);
      if (value !== undefined) env[name] = value;
    }
  }
  return { ...env, ...overrides };
}
