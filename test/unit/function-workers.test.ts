import { afterAll, describe, expect, it } from 'vitest';
import { localFunctionEnvironment } from '#local/environment.js';
import { localTableArn } from '#local/function-policy.js';
import { LocalLambdas } from '#local/lambdas.js';
import type { LocalFunction, Topology } from '#local/topology.js';

// Two functions of the same code with different template variables, each in its own thread.
const rootDir = new URL('../..', import.meta.url).pathname;
const fn = (logicalId: string, environment: Record<string, unknown>): LocalFunction => ({
  logicalId,
  entry: 'test/support/fixtures/probe-function.ts',
  timeoutSeconds: 30,
  memoryMb: 128,
  environment,
});
const topology: Topology = {
  tables: new Map([
    ['Granted', { Type: 'AWS::DynamoDB::Table' }],
    ['Other', { Type: 'AWS::DynamoDB::Table' }],
  ]),
  functions: new Map([
    ['ProbeA', fn('ProbeA', { ONLY_A: 'a', TABLE: { Ref: 'Granted' } })],
    ['ProbeB', fn('ProbeB', { ONLY_B: 'b' })],
  ]),
  http: { routes: [] },
  ws: { routes: [] },
};
// Set in this process: a function must not see it, as a Lambda function does not see its caller's.
process.env.PROBE_OF_THE_TEST_PROCESS = 'leaked';
const lambdas = new LocalLambdas(topology, rootDir, {
  environment: (id) =>
    localFunctionEnvironment(topology, id, {
      // No engine: the SDK would fail to connect, which the check must come before.
      platform: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      },
      replacements: {},
    }),
  policies: new Map([
    [
      'ProbeA',
      {
        roleName: 'ProbeARole',
        statements: [
          { effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [localTableArn('Granted')] },
        ],
      },
    ],
  ]),
});
afterAll(() => lambdas.stop());

type Probe = {
  threadId: number;
  functionName: string;
  remainingMs: number;
  env: Record<string, string | undefined>;
};
const probe = (id: string, event: Record<string, unknown>) => lambdas.invoke(id, event) as Promise<Probe>;

describe('local functions in worker threads', () => {
  it("sees only its own template's variables, not another function's nor the runtime's", async () => {
    const read = ['ONLY_A', 'ONLY_B', 'TABLE', 'PROBE_OF_THE_TEST_PROCESS', 'AWS_LAMBDA_FUNCTION_NAME'];
    const [a, b] = await Promise.all([probe('ProbeA', { read }), probe('ProbeB', { read })]);
    expect(a.env).toEqual({ ONLY_A: 'a', TABLE: 'Granted', AWS_LAMBDA_FUNCTION_NAME: 'ProbeA' });
    expect(b.env).toEqual({ ONLY_B: 'b', AWS_LAMBDA_FUNCTION_NAME: 'ProbeB' });
    expect(a.threadId).not.toBe(b.threadId);
    expect(a.functionName).toBe('ProbeA');
    expect(a.remainingMs).toBeGreaterThan(0);
    expect(a.remainingMs).toBeLessThanOrEqual(30_000);
  });

  it("hands back a handler's error with its name, message and own properties", async () => {
    const err = await probe('ProbeA', { fail: 'States.CustomFailure' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'States.CustomFailure', message: 'asked to fail', retryable: false });
  });

  it('refuses a table the role does not grant with the AccessDeniedException AWS sends', async () => {
    const err = await probe('ProbeA', { getFrom: 'Other' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message:
        'User: arn:aws:sts::000000000000:assumed-role/ProbeARole/ProbeA is not authorized to perform: ' +
        `dynamodb:GetItem on resource: ${localTableArn('Other')} because no identity-based policy allows the dynamodb:GetItem action`,
    });
    // The granted table passes the check and reaches the (absent) engine instead.
    const reached = await probe('ProbeA', { getFrom: 'Granted' }).catch((e: unknown) => e);
    expect(reached).toBeInstanceOf(Error);
    expect((reached as Error).name).not.toBe('AccessDeniedException');
  });

  it('fails the invocations of a thread that dies, and starts a new one for the next', async () => {
    const before = await probe('ProbeB', {});
    const err = await probe('ProbeB', { crash: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'Runtime.ExitError' });
    const after = await probe('ProbeB', {});
    expect(after.threadId).not.toBe(before.threadId);
  });
});
