import type { CfnTemplate } from '#infra/synth.js';
import { resolveIntrinsic } from './environment.js';

/** The account and region of every local ARN (the same the local Step Functions and fronts use). */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** One IAM policy statement with its resources resolved to local ARNs (unresolvable ones left out). */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** Actions as IAM spells them (`dynamodb:GetItem`, `sqs:*`); `*` and `?` are wildcards. */
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** What a function's execution role may do: its role's name (for error messages) and its statements. */
export interface FunctionPolicy {
  readonly roleName: string;
  readonly statements: readonly PolicyStatement[];
}

/** Local ARN of a table, or of one of its indexes: what IAM checks a DynamoDB request against. */
export const localTableArn = (tableName: string, index?: string) =>
  `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${tableName}${index ? `/index/${index}` : ''}`;

/**
 * Reads the identity-based policies of each function's execution role: the `AWS::IAM::Policy`
 * resources attached to it (CDK's `grant*` calls write there) and the role's inline `Policies`.
 * Managed policies (CDK adds AWSLambdaBasicExecutionRole, CloudWatch Logs only) are not read.
 * `arnOf(logicalId, attribute)` gives the local ARN behind a `Ref` (attribute undefined) or `Fn::GetAtt`.
 */
export function readFunctionPolicies(
  template: CfnTemplate,
  functionIds: Iterable<string>,
  arnOf: (logicalId: string, attribute?: string) => string | undefined,
): Map<string, FunctionPolicy> {
  const resources = template.Resources;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': LOCAL_REGION,
    'AWS::AccountId': LOCAL_ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const resolve = (value: unknown) =>
    resolveIntrinsic(value, (id, attr) =>
      attr === undefined && id in pseudo ? pseudo[id] : arnOf(id, attr),
    );

  const statementsOf = (document: unknown): PolicyStatement[] => {
    const raw = (document as { Statement?: unknown } | undefined)?.Statement;
    return (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((s: Record<string, unknown>) => {
      // CDK writes no NotAction/NotResource; a statement with them is not understood, so it grants nothing.
      if (s.NotAction !== undefined || s.NotResource !== undefined || s.Condition !== undefined) return [];
      const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
      return [
        {
          effect: s.Effect === 'Deny' ? 'Deny' : 'Allow',
          actions: list(s.Action).map(String),
          resources: list(s.Resource).flatMap((r) => {
            const arn = resolve(r);
            return arn === undefined ? [] : [arn];
          }),
        } satisfies PolicyStatement,
      ];
    });
  };

  const policies = new Map<string, FunctionPolicy>();
  for (const functionId of functionIds) {
    const role = (resources[functionId]?.Properties?.Role as { 'Fn::GetAtt'?: unknown[] } | undefined)?.[
      'Fn::GetAtt'
    ]?.[0];
    if (typeof role !== 'string') {
      policies.set(functionId, { roleName: functionId, statements: [] });
      continue;
    }
    const statements: PolicyStatement[] = [];
    const inline = resources[role]?.Properties?.Policies as Array<{ PolicyDocument?: unknown }> | undefined;
    for (const p of inline ?? []) statements.push(...statementsOf(p.PolicyDocument));
    for (const r of Object.values(resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const roles = (r.Properties?.Roles as Array<{ Ref?: unknown }> | undefined) ?? [];
      if (roles.some((ref) => ref.Ref === role))
        statements.push(...statementsOf(r.Properties?.PolicyDocument));
    }
    policies.set(functionId, { roleName: role, statements });
  }
  return policies;
}

const compiled = new Map<string, RegExp>();
/** IAM's wildcard match: `*` any run of characters, `?` one character (compiled once per pattern). */
function wildcard(pattern: string, flags = ''): RegExp {
  const key = `${flags}:${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, flags);
    compiled.set(key, re);
  }
  return re;
}

/**
 * Whether the statements allow `action` on `resource`, by IAM's rule for one identity policy set: an
 * explicit Deny wins, then any Allow; nothing matching is an implicit deny. Actions match case-insensitively,
 * resources case-sensitively (as IAM does).
 */
export function isAllowed(statements: readonly PolicyStatement[], action: string, resource: string): boolean {
  const matches = (s: PolicyStatement) =>
    s.actions.some((a) => wildcard(a, 'i').test(action)) &&
    s.resources.some((r) => wildcard(r).test(resource));
  if (statements.some((s) => s.effect === 'Deny' && matches(s))) return false;
  return statements.some((s) => s.effect === 'Allow' && matches(s));
}
