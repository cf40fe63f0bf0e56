import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { localFunctionEnvironment, localTableName } from '#local/environment.js';
import { localTableArn, readFunctionPolicies } from '#local/function-policy.js';
import { type HttpFront, startHttpFront } from '#local/http-front.js';
import { LocalLambdas } from '#local/lambdas.js';
import { cachedTemplate } from '#local/template-cache.js';
import { readTopology } from '#local/topology.js';
import { newUser } from '../support/users.js';

// The real GET /me function behind the real HTTP front, on the test run's engines, twice: with the
// template's grants, and with its grant on the users table removed. On AWS the second answers 500 with
// an AccessDeniedException in the function's log; locally it must fail the same way.
const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const env = inject('handlerEnv');

function roleOf(t: CfnTemplate, functionId: string): string {
  const role = (t.Resources[functionId]?.Properties?.Role as { 'Fn::GetAtt'?: string[] } | undefined)?.[
    'Fn::GetAtt'
  ]?.[0];
  if (!role) throw new Error(`${functionId} has no execution role`);
  return role;
}

/** The template with `functionId`'s role no longer granted anything on `tableId`. */
function withoutGrant(template: CfnTemplate, functionId: string, tableId: string): CfnTemplate {
  const copy = structuredClone(template);
  const role = roleOf(copy, functionId);
  let removed = 0;
  for (const r of Object.values(copy.Resources)) {
    const p = r.Properties as { Roles?: Array<{ Ref?: string }>; PolicyDocument?: { Statement: unknown[] } };
    if (r.Type !== 'AWS::IAM::Policy' || !p.Roles?.some((ref) => ref.Ref === role) || !p.PolicyDocument)
      continue;
    p.PolicyDocument.Statement = p.PolicyDocument.Statement.flatMap((s) => {
      const statement = s as { Resource: unknown };
      const resources = (
        Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]
      ).filter((res) => !JSON.stringify(res).includes(`"${tableId}"`));
      removed += (Array.isArray(statement.Resource) ? statement.Resource.length : 1) - resources.length;
      return resources.length ? [{ ...statement, Resource: resources }] : [];
    });
  }
  if (!removed) throw new Error(`${functionId} has no grant on ${tableId} to remove`);
  return copy;
}

/** The local functions of `template`, with the test run's engines, behind an HTTP front of their own. */
async function frontFor(
  template: CfnTemplate,
  logs?: (functionId: string, chunk: string) => void,
): Promise<{ front: HttpFront; lambdas: LocalLambdas }> {
  const topology = readTopology(template);
  // Queue URLs and state machine ARNs as the test run's environment resolved them.
  const refs = new Map<string, string>();
  for (const fn of topology.functions.values()) {
    for (const [name, value] of Object.entries(fn.environment)) {
      const ref = (value as { Ref?: unknown }).Ref;
      if (typeof ref === 'string' && env[name]) refs.set(ref, env[name]);
    }
  }
  const pick = (names: string[]) => Object.fromEntries(names.flatMap((n) => (env[n] ? [[n, env[n]]] : [])));
  const platform = pick([
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_ENDPOINT_URL_SQS',
    'AWS_ENDPOINT_URL_SFN',
    'POWERTOOLS_LOG_LEVEL',
    'POWERTOOLS_METRICS_DISABLED',
  ]);
  const replacements = {
    TOKEN_SECRET_ARN: pick(['TOKEN_SECRET']),
    WS_CALLBACK_URL: pick(['WS_CALLBACK_URL']),
    SEARCH_ENDPOINT: pick(['SEARCH_ENDPOINT']),
    SEARCH_SIGNING: pick(['SEARCH_SIGNING']),
  };
  const tables = new Set(topology.tables.keys());
  const policies = readFunctionPolicies(template, topology.functions.keys(), (id, attr) =>
    tables.has(id) && attr === 'Arn' ? localTableArn(localTableName(id)) : undefined,
  );
  const lambdas = new LocalLambdas(topology, rootDir, {
    environment: (id) => localFunctionEnvironment(topology, id, { platform, replacements }, refs),
    policies,
    logs,
  });
  return { front: await startHttpFront(topology.http, lambdas, 0), lambdas };
}

let template: CfnTemplate;
const started: Array<{ front: HttpFront; lambdas: LocalLambdas }> = [];
beforeAll(async () => {
  template = await cachedTemplate(rootDir);
});
afterAll(async () => {
  for (const s of started) {
    await s.front.close();
    await s.lambdas.stop();
  }
});

describe("a function's grants, checked locally", () => {
  it('answers GET /me with the template as it is, and 500 once its grant on the users table is gone', async () => {
    const topology = readTopology(template);
    const role = (id: string) => roleOf(template, id);
    const meGet = [...topology.functions.values()].find((f) => f.entry === 'functions/http/me-get.ts');
    const users = [...topology.tables.keys()].find((id) => id.startsWith('TablesUsers'));
    if (!meGet || !users) throw new Error('GET /me or the users table is missing from the template');
    const granted = await frontFor(template);
    let deniedLogs = '';
    const denied = await frontFor(withoutGrant(template, meGet.logicalId, users), (id, chunk) => {
      if (id === meGet.logicalId) deniedLogs += chunk;
    });
    started.push(granted, denied);
    const user = await newUser('grants');
    const getMe = (front: HttpFront) =>
      fetch(`${front.url}/me`, { headers: { authorization: `Bearer ${user.token}` } });
    const ok = await getMe(granted.front);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ userId: user.userId });

    const refused = await getMe(denied.front);
    expect(refused.status).toBe(500);
    expect(await refused.json()).toMatchObject({ error: { code: 'internal' } });
    // What the function logged: the error a deployed function without the grant gets.
    const logged = deniedLogs
      .split('\n')
      .filter((line) => line.includes('AccessDeniedException'))
      .map((line) => JSON.parse(line) as { error: { name: string; message: string } });
    expect(logged.map((l) => l.error.name)).toEqual(['AccessDeniedException']);
    expect(logged[0]?.error.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/${role(meGet.logicalId)}/${meGet.logicalId} is not ` +
        `authorized to perform: dynamodb:GetItem on resource: ${localTableArn(localTableName(users))} because ` +
        'no identity-based policy allows the dynamodb:GetItem action',
    );
  });
});
