import type { CfnTemplate } from '#infra/synth.js';
import { resolveIntrinsic } from '../environment.js';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** A state machine of the template, with its definition resolved and its Task states bound to functions. */
export interface LocalStateMachine {
  readonly logicalId: string;
  readonly arn: string;
  readonly definition: Record<string, unknown>;
  /** Task state name → the template function it invokes. */
  readonly taskFunctions: ReadonlyMap<string, string>;
}

export const stateMachineArn = (logicalId: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;
export const functionArn = (logicalId: string) =>
  `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;

/**
 * Reads every `AWS::StepFunctions::StateMachine` of the template: the definition string is resolved
 * (function ARNs become local ARNs) and each Task state is bound to the function its `Resource` names.
 */
export function readStateMachines(template: CfnTemplate): LocalStateMachine[] {
  const functions = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id]) => id),
  );
  const lookup = (id: string, attr?: string) => {
    if (attr === 'Arn' && functions.has(id)) return functionArn(id);
    if (attr === undefined && id === 'AWS::Partition') return 'aws';
    if (attr === undefined && id === 'AWS::Region') return LOCAL_REGION;
    if (attr === undefined && id === 'AWS::AccountId') return LOCAL_ACCOUNT;
    return undefined;
  };
  const machines: LocalStateMachine[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const text = resolveIntrinsic(resource.Properties?.DefinitionString, lookup);
    if (!text) throw new Error(`State machine ${logicalId}: definition cannot be resolved locally`);
    const definition = JSON.parse(text) as Record<string, unknown>;
    const taskFunctions = new Map<string, string>();
    collectTasks(definition, taskFunctions);
    machines.push({ logicalId, arn: stateMachineArn(logicalId), definition, taskFunctions });
  }
  return machines;
}

/** Walks states, including Map item processors and Parallel branches. */
function collectTasks(node: Record<string, unknown>, out: Map<string, string>): void {
  const states = node.States as Record<string, Record<string, unknown>> | undefined;
  for (const [name, state] of Object.entries(states ?? {})) {
    if (state.Type === 'Task' && typeof state.Resource === 'string') {
      const m = /:function:([^:]+)$/.exec(state.Resource);
      if (m?.[1]) out.set(name, m[1]);
    }
    const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
    if (processor) collectTasks(processor, out);
    for (const branch of (state.Branches as Record<string, unknown>[] | undefined) ?? [])
      collectTasks(branch, out);
  }
}
