import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { remoteTarget } from '../support/remote-target.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';

const rootDir = fileURLToPath(new URL('../..', import.meta.url));

/** This process's environment without the test run's own table names and endpoints. */
function commandEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.endsWith('_TABLE') && !k.startsWith('AWS_ENDPOINT_URL') && !k.startsWith('SEARCH_'),
    ),
  );
}

async function call(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
) {
  const res = await fetch(base + path, {
    method: init.method ?? (init.body ? 'POST' : 'GET'),
    headers: {
      'content-type': 'application/json',
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

// Runs its own runtime with a persistent data directory; not applicable to a remote deployment.
describe.runIf(!remoteTarget())('a saga interrupted by a crash', () => {
  let dataDir: string;
  let runtime: RuntimeProcess | undefined;
  afterAll(async () => {
    await runtime?.stop('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('is finished or fully undone by the reconciler after a restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chat-saga-crash-'));
    // Cheap password hashing: this test registers hundreds of users.
    const env = { DATA_DIR: dataDir, SCRYPT_N: '1024' };
    runtime = await startRuntimeProcess(env);
    const base = runtime.httpUrl;
    const tag = Date.now().toString(36);
    const users: Array<{ userId: string; token: string }> = [];
    for (let i = 0; i < 120; i += 30) {
      const batch = await Promise.all(
        Array.from({ length: 30 }, (_, j) =>
          call(base, '/auth/register', {
            body: { username: `k${tag}_${i + j}`, password: 'password-123', displayName: 'k' },
          }),
        ),
      );
      users.push(...batch.map((r) => ({ userId: r.body.user.userId, token: r.body.token })));
    }
    const [owner, ...others] = users as [
      { userId: string; token: string },
      ...{ userId: string; token: string }[],
    ];
    const created = await call(base, '/groups', {
      token: owner.token,
      body: { name: 'crash', memberIds: others.map((u) => u.userId) },
    });
    expect(created.status).toBe(202);
    const { operationId } = created.body.operation;
    const { conversationId } = created.body.conversation;
    // Die while the saga adds member chunks.
    await runtime.stop('SIGKILL');

    runtime = await startRuntimeProcess(env);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'ops/reconcile-operations.ts'],
      { cwd: rootDir, env: { ...commandEnv(), ...env } },
    );
    expect(stdout).toContain(operationId);

    const op = await call(runtime.httpUrl, `/operations/${operationId}`, { token: owner.token });
    expect(['succeeded', 'compensated']).toContain(op.body.status);
    // Every member sees the group, or none does: never a half-built group.
    const seen = await Promise.all(
      users.map(async (u) => {
        const list = await call(runtime!.httpUrl, '/conversations', { token: u.token });
        return list.body.items.some((c: any) => c.conversationId === conversationId);
      }),
    );
    expect(new Set(seen)).toEqual(new Set([op.body.status === 'succeeded']));
  }, 300_000);
});
