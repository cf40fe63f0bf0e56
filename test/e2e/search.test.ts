import { describe, expect, it } from 'vitest';
import { api } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';

/** Search is eventually consistent: poll until the expectation holds (the bound is published by bench:search). */
async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('search over the API', () => {
  it('finds a new user by username prefix and display name within seconds', async () => {
    const me = await signUp('finder');
    const target = await signUp('zebra');
    const prefix = target.username.slice(0, 10);
    const found = await eventually(
      () => api(`/users?q=${encodeURIComponent(prefix)}`, { token: me.token }),
      (r) => r.body.items?.some((u: any) => u.userId === target.userId),
    );
    expect(found.status).toBe(200);
    expect(found.body.items.find((u: any) => u.userId === target.userId)).toMatchObject({
      username: target.username,
    });
  });

  it('finds Chinese, Japanese and Korean text for members only', async () => {
    const [a, b, outsider] = await Promise.all([signUp('a'), signUp('b'), signUp('o')]);
    const conversationId = await befriend(a, b);
    const unique = Date.now().toString(36);
    for (const [i, text] of [
      `今天天气很好 ${unique}`,
      `東京で会いましょう ${unique}`,
      `안녕하세요 친구 ${unique}`,
    ].entries()) {
      const sent = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `cjk-${i}`, text },
      });
      expect(sent.status).toBe(201);
    }
    for (const q of ['天气', '東京', '안녕하세요']) {
      const res = await eventually(
        () => api(`/search/messages?q=${encodeURIComponent(q)}`, { token: b.token }),
        (r) => r.body.items?.some((i: any) => i.message.conversationId === conversationId),
      );
      expect(res.status, q).toBe(200);
      expect(
        res.body.items.some((i: any) => i.message.text.includes(q)),
        q,
      ).toBe(true);
    }
    const outside = await api(`/search/messages?q=${encodeURIComponent('天气')}`, { token: outsider.token });
    expect(outside.status).toBe(200);
    expect(outside.body.items.filter((i: any) => i.message.conversationId === conversationId)).toEqual([]);
    const named = await api(`/search/messages?q=x&conversationId=${conversationId}`, {
      token: outsider.token,
    });
    expect(named.status).toBe(403);
    expect(named.body.error.code).toBe('not_a_member');
  });

  it('drops a deleted account from user search', async () => {
    const me = await signUp('seeker');
    const gone = await signUp('goner');
    await eventually(
      () => api(`/users?q=${gone.username}`, { token: me.token }),
      (r) => r.body.items?.some((u: any) => u.userId === gone.userId),
    );
    const del = await api('/me', { method: 'DELETE', token: gone.token });
    expect(del.status).toBe(202);
    const op = await eventually(
      () => api(`/operations/${del.body.operationId}`, { token: gone.token }),
      (r) => r.body.status !== 'running',
    );
    expect(op.body.status).toBe('succeeded');
    const after = await eventually(
      () => api(`/users?q=${gone.username}`, { token: me.token }),
      (r) => !r.body.items?.some((u: any) => u.userId === gone.userId),
    );
    expect(after.body.items.some((u: any) => u.userId === gone.userId)).toBe(false);
    // The username is free again.
    const again = await api('/auth/register', {
      method: 'POST',
      body: { username: gone.username, password: 'a long enough password', displayName: 'New' },
    });
    expect(again.status).toBe(201);
  });
});
