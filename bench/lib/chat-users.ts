// Users, friendships and groups for the messaging benchmarks, made through the public HTTP API.
import { randomBytes } from 'node:crypto';
import type { HttpClient } from './http.js';

export interface BenchUser {
  userId: string;
  token: string;
}

const tag = randomBytes(3).toString('hex');
let counter = 0;

/** Registers a fresh user. */
export async function register(http: HttpClient, prefix = 'bm'): Promise<BenchUser> {
  const username = `${prefix}${tag}_${++counter}`;
  const res = await http.call<{ user: { userId: string }; token: string }>('/auth/register', {
    body: { username, password: 'bench-password', displayName: username },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user.userId, token: res.body.token };
}

/** A group owned by the first user with the others as members (one transaction, or the saga above 48 others). */
export async function makeGroup(http: HttpClient, members: readonly BenchUser[]): Promise<string> {
  const [owner, ...others] = members as [BenchUser, ...BenchUser[]];
  const res = await http.call<{ conversationId: string }>('/groups', {
    token: owner.token,
    body: { name: 'bench', memberIds: others.map((u) => u.userId) },
  });
  if (res.status === 201) return res.body.conversationId;
  if (res.status !== 202) throw new Error(`group: ${res.status} ${JSON.stringify(res.body)}`);
  // Over 48 other members the group is built by the saga: wait until it is active.
  const accepted = res.body as unknown as {
    conversation: { conversationId: string };
    operation: { operationId: string };
  };
  for (;;) {
    const op = await http.call<{ status: string }>(`/operations/${accepted.operation.operationId}`, {
      token: owner.token,
    });
    if (op.body.status === 'succeeded') return accepted.conversation.conversationId;
    if (op.body.status !== 'running') throw new Error(`group: ${op.body.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Makes two users friends and returns their direct conversation. */
export async function befriend(http: HttpClient, a: BenchUser, b: BenchUser): Promise<string> {
  const req = await http.call<{ requestId: string }>('/friend-requests', {
    token: a.token,
    body: { toUserId: b.userId },
  });
  if (req.status !== 201) throw new Error(`friend request: ${req.status}`);
  const ok = await http.call<{ conversationId: string }>(`/friend-requests/${req.body.requestId}/accept`, {
    token: b.token,
    body: {},
  });
  if (ok.status !== 200) throw new Error(`accept: ${ok.status}`);
  return ok.body.conversationId;
}
