import { expect } from 'vitest';
import { api } from './clients.js';

const unique = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

export interface E2eUser {
  userId: string;
  username: string;
  token: string;
}

/** Registers a user through the public API. */
export async function signUp(prefix = 'e2e'): Promise<E2eUser> {
  const username = unique(prefix).slice(0, 32);
  const res = await api('/auth/register', {
    method: 'POST',
    body: { username, password: 'a long enough password', displayName: prefix },
  });
  expect(res.status).toBe(201);
  return { userId: res.body.user.userId, username: res.body.user.username, token: res.body.token };
}

/** Makes two users friends through the public API and returns their direct conversation. */
export async function befriend(a: E2eUser, b: E2eUser): Promise<string> {
  const req = await api('/friend-requests', { method: 'POST', token: a.token, body: { toUserId: b.userId } });
  expect(req.status).toBe(201);
  const ok = await api(`/friend-requests/${req.body.requestId}/accept`, { method: 'POST', token: b.token });
  expect(ok.status).toBe(200);
  return ok.body.conversationId;
}
