import { type NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnTemplate } from './synth.js';

interface RawTemplate extends CfnTemplate {
  Parameters?: Record<string, unknown>;
  Outputs?: Record<string, { Value?: unknown }>;
}

/**
 * One template with every resource of a stack and of its nested stacks, as if they were one stack: the
 * parameters through which a nested stack receives another stack's values (CDK's
 * `referenceto…` parameters, fed by the parent from a sibling's outputs) are replaced by the
 * expressions they stand for, so a `Ref` or `Fn::GetAtt` names the resource itself wherever it lives.
 * The local runtime and the tests read this view; what deploys are the separate templates. Logical ids
 * are unique across the stacks (each nested stack keeps the construct ids of the single stack it was
 * cut from); a clash would throw here.
 */
export function flattenStack(stack: Stack): CfnTemplate {
  const templates = new Map<string, RawTemplate>();
  const nestedByResource = new Map<string, string>();
  const collect = (s: Stack, key: string) => {
    templates.set(key, Template.fromStack(s).toJSON() as RawTemplate);
    for (const child of s.node.children) {
      if (!(child instanceof Stack) || !child.nestedStackResource) continue;
      const nested = child as NestedStack;
      const childKey = `${key}/${nested.node.id}`;
      nestedByResource.set(`${key}|${s.getLogicalId(nested.nestedStackResource as never)}`, childKey);
      collect(nested, childKey);
    }
  };
  collect(stack, stack.node.id);

  const parentOf = (key: string) => key.slice(0, key.lastIndexOf('/'));
  const parametersOf = new Map<string, Record<string, unknown>>();
  for (const [key, t] of templates) {
    for (const [id, r] of Object.entries(t.Resources)) {
      const child = nestedByResource.get(`${key}|${id}`);
      if (child) parametersOf.set(child, (r.Properties?.Parameters ?? {}) as Record<string, unknown>);
    }
  }

  const resolve = (key: string, value: unknown): unknown => {
    if (Array.isArray(value)) return value.map((v) => resolve(key, v));
    if (!value || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const ref = o.Ref;
    if (typeof ref === 'string' && Object.keys(o).length === 1) {
      const passed = parametersOf.get(key)?.[ref];
      if (passed !== undefined) return resolve(parentOf(key), passed);
    }
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') {
      const child = nestedByResource.get(`${key}|${getAtt[0]}`);
      if (child && getAtt[1].startsWith('Outputs.')) {
        const output = templates.get(child)?.Outputs?.[getAtt[1].slice('Outputs.'.length)];
        if (!output) throw new Error(`${child} has no output ${getAtt[1]}`);
        return resolve(child, output.Value);
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(key, v)]));
  };

  const merged: CfnTemplate = { Resources: {}, Outputs: {} };
  for (const [key, t] of templates) {
    for (const [id, r] of Object.entries(t.Resources)) {
      if (nestedByResource.has(`${key}|${id}`)) continue;
      if (merged.Resources[id]) throw new Error(`Logical id ${id} occurs in two stacks (${key})`);
      merged.Resources[id] = resolve(key, r) as CfnTemplate['Resources'][string];
    }
  }
  const root = templates.get(stack.node.id);
  for (const [name, output] of Object.entries(root?.Outputs ?? {})) {
    (merged.Outputs as Record<string, unknown>)[name] = resolve(stack.node.id, output);
  }
  return merged;
}

/** Every nested stack's own template, by its construct id (for per-stack checks such as the resource limit). */
export function nestedTemplates(stack: Stack): Map<string, CfnTemplate> {
  const out = new Map<string, CfnTemplate>();
  for (const child of stack.node.children) {
    if (child instanceof Stack && child.nestedStackResource) {
      out.set(child.node.id, Template.fromStack(child).toJSON() as CfnTemplate);
    }
  }
  return out;
}
