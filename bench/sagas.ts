// npm run bench:sagas — saga durations on the local runtime: a 1000-member group, the compensation of
// a failure at its last undoable step, and deleting an account with 100 friends and 50 conversations.
import { randomBytes } from 'node:crypto';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain, type InProcessRuntime } from './lib/runtime.js';
import { median } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GROUP_MEMBERS = Number(process.env.BENCH_GROUP_MEMBERS ?? 1000);
const FRIENDS = 100;
const GROUPS = 50;
const tag = randomBytes(3).toString('hex');
let counter = 0;
// Set-up registers thousands of users; the KDF's cost is what bench:auth measures.
process.env.SCRYPT_N ??= '1024';

interface User {
  userId: string;
  token: string;
}

async function register(http: HttpClient): Promise<User> {
  const username = `sg${tag}_${++counter}`;
  const res = await http.call<{ user: { userId: string }; token: string }>('/auth/register', {
    body: { username, password: 'bench-password', displayName: username },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status}`);
  return { userId: res.body.user.userId, token: res.body.token };
}

/** Polls an operation until it leaves `running`; returns its final status and the elapsed time. */
async function waitFor(http: HttpClient, token: string, operationId: string, started: number) {
  for (;;) {
    const res = await http.call<{ status: string }>(`/operations/${operationId}`, { token });
    if (res.status === 200 && res.body.status !== 'running')
      return { status: res.body.status, ms: performance.now() - started };
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function bigGroup(
  runtime: InProcessRuntime,
  http: HttpClient,
  users: User[],
  faultAtActivate: boolean,
) {
  const [owner, ...others] = users as [User, ...User[]];
  if (faultAtActivate) runtime.executions.injectFaults({ Activate: { error: 'BusinessError' } });
  const started = performance.now();
  const res = await http.call<{ operation: { operationId: string } }>('/groups', {
    token: owner.token,
    body: { name: 'bench', memberIds: others.map((u) => u.userId) },
  });
  if (res.status !== 202) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
  return waitFor(http, owner.token, res.body.operation.operationId, started);
}

async function deleteAccount(http: HttpClient) {
  const me = await register(http);
  const friends = await pool(Array.from({ length: FRIENDS }), 10, () => register(http));
  await pool(friends, 10, async (f) => {
    const req = await http.call<{ requestId: string }>('/friend-requests', {
      token: f.token,
      body: { toUserId: me.userId },
    });
    await http.call(`/friend-requests/${req.body.requestId}/accept`, { token: me.token, body: {} });
  });
  await pool(
    Array.from({ length: GROUPS }, (_, i) => i),
    5,
    async (i) => {
      const others = [friends[i % FRIENDS], friends[(i + 1) % FRIENDS]].map((u) => (u as User).userId);
      const res = await http.call('/groups', { token: me.token, body: { name: `g${i}`, memberIds: others } });
      if (res.status !== 201) throw new Error(`group: ${res.status}`);
    },
  );
  const started = performance.now();
  const res = await http.call<{ operationId: string }>('/me', { method: 'DELETE', token: me.token });
  if (res.status !== 202) throw new Error(`delete: ${res.status}`);
  return waitFor(http, me.token, res.body.operationId, started);
}

await benchMain('bench:sagas', async (runtime) => {
  const http = new HttpClient(runtime.httpUrl);
  console.log(`registering ${GROUP_MEMBERS} users…`);
  const users = await pool(Array.from({ length: GROUP_MEMBERS }), 10, () => register(http));
  const create: number[] = [];
  const compensate: number[] = [];
  const remove: number[] = [];
  for (let r = 1; r <= RUNS; r++) {
    const ok = await bigGroup(runtime, http, users, false);
    const undo = await bigGroup(runtime, http, users, true);
    const del = await deleteAccount(http);
    if (ok.status !== 'succeeded' || undo.status !== 'compensated' || del.status !== 'succeeded') {
      throw new Error(`unexpected outcome: ${ok.status}, ${undo.status}, ${del.status}`);
    }
    create.push(ok.ms);
    compensate.push(undo.ms);
    remove.push(del.ms);
    console.log(
      `run ${r}: create ${GROUP_MEMBERS}-member group ${ok.ms.toFixed(0)} ms; ` +
        `same group failing at Activate (last undoable step), built then undone ${undo.ms.toFixed(0)} ms; ` +
        `delete account with ${FRIENDS} friends and ${GROUPS} groups ${del.ms.toFixed(0)} ms`,
    );
  }
  console.log(
    `\nmedian: create ${median(create).toFixed(0)} ms, fail at last step and compensate ${median(compensate).toFixed(0)} ms ` +
      `(compensation alone ≈ ${(median(compensate) - median(create)).toFixed(0)} ms), delete account ${median(remove).toFixed(0)} ms`,
  );
});
