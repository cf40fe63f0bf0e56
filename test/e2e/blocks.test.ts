// Blocking over the public API, in every direction: friendship, requests, direct messages, typing,
// presence, and the list.
import { describe, expect, it } from 'vitest';
import { api } from '../support/clients.js';
import { befriend, type E2eUser, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();

const block = (by: E2eUser, userId: string) => api(`/blocks/${userId}`, { method: 'POST', token: by.token });
const unblock = (by: E2eUser, userId: string) =>
  api(`/blocks/${userId}`, { method: 'DELETE', token: by.token });
const request = (from: E2eUser, to: E2eUser) =>
  api('/friend-requests', { method: 'POST', token: from.token, body: { toUserId: to.userId } });
const send = (from: E2eUser, conversationId: string, text: string) =>
  api(`/conversations/${conversationId}/messages`, {
    method: 'POST',
    token: from.token,
    body: { clientMessageId: `c${Math.random()}`, text },
  });
const friendIds = async (u: E2eUser) =>
  (await api('/friends', { token: u.token })).body.items.map((f: any) => f.user.userId);

describe('blocking', () => {
  it('ends the friendship at once and keeps both from befriending or messaging until unblocked', async () => {
    const [a, b] = await Promise.all([signUp('ba'), signUp('bb')]);
    const conversationId = await befriend(a, b);
    expect((await send(b, conversationId, 'before')).status).toBe(201);

    expect((await block(a, b.userId)).status).toBe(204);
    expect(await friendIds(a)).not.toContain(b.userId);
    expect(await friendIds(b)).not.toContain(a.userId);
    // Blocking again changes nothing.
    expect((await block(a, b.userId)).status).toBe(204);

    for (const [from, to] of [
      [b, a],
      [a, b],
    ] as const) {
      const refused = await send(from, conversationId, 'after');
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('not_friends');
      const asked = await request(from, to);
      expect(asked.status).toBe(403);
      expect(asked.body.error.code).toBe('forbidden');
    }
    // History stays readable.
    const history = await api(`/conversations/${conversationId}/messages`, { token: b.token });
    expect(history.body.items.map((m: any) => m.text)).toEqual(['before']);

    const list = await api('/blocks', { token: a.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((x: any) => x.user.userId)).toEqual([b.userId]);
    expect(list.body.items[0].since).toMatch(/^\d{4}-/);
    expect((await api('/blocks', { token: b.token })).body.items).toEqual([]);

    expect((await unblock(a, b.userId)).status).toBe(204);
    const again = await unblock(a, b.userId);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('not_found');
    // Not friends again by itself; a new request goes through, and the same conversation is reused.
    expect(await friendIds(a)).not.toContain(b.userId);
    expect(await befriend(b, a)).toBe(conversationId);
    expect((await send(b, conversationId, 'again')).status).toBe(201);
  });

  it('cancels pending requests between the two, either way', async () => {
    const [a, b, c] = await Promise.all([signUp('bc'), signUp('bd'), signUp('be')]);
    expect((await request(b, a)).status).toBe(201);
    expect((await request(a, c)).status).toBe(201);
    expect((await block(a, b.userId)).status).toBe(204);
    expect((await block(c, a.userId)).status).toBe(204);
    const pending = async (u: E2eUser, direction: string) =>
      (await api(`/friend-requests?direction=${direction}`, { token: u.token })).body.items;
    expect(await pending(a, 'incoming')).toEqual([]);
    expect(await pending(b, 'outgoing')).toEqual([]);
    expect(await pending(a, 'outgoing')).toEqual([]);
    expect(await pending(c, 'incoming')).toEqual([]);
  });

  it('hides typing both ways between a blocker and the blocked user in a group they share', async () => {
    const [a, b, c] = await Promise.all([signUp('bt'), signUp('bu'), signUp('bv')]);
    const created = await api('/groups', {
      method: 'POST',
      token: a.token,
      body: { name: 'typing group', memberIds: [b.userId, c.userId] },
    });
    const conversationId = created.body.conversationId;
    const [wa, wb, wc] = await Promise.all([connect(a.token), connect(b.token), connect(c.token)]);
    expect((await block(a, b.userId)).status).toBe(204);
    wa.send({ action: 'typing', conversationId });
    expect(await wc.next((f) => f.type === 'typing' && f.userId === a.userId)).toBeTruthy();
    // C's typing reaches B (the group works for B), A's never did.
    wc.send({ action: 'typing', conversationId });
    expect(await wb.next((f) => f.type === 'typing' && f.userId === c.userId)).toBeTruthy();
    await expect(wb.next((f) => f.type === 'typing' && f.userId === a.userId, 500)).rejects.toThrow();
    // The blocked user's typing still reaches the rest of the group, but not the blocker.
    wb.send({ action: 'typing', conversationId });
    expect(await wc.next((f) => f.type === 'typing' && f.userId === b.userId)).toBeTruthy();
    wc.send({ action: 'typing', conversationId });
    expect(await wa.next((f) => f.type === 'typing' && f.userId === c.userId)).toBeTruthy();
    await expect(wa.next((f) => f.type === 'typing' && f.userId === b.userId, 500)).rejects.toThrow();
  });

  it('validates: yourself 400, an unknown user 404, pages like the other lists', async () => {
    const [a, b, c] = await Promise.all([signUp('bw'), signUp('bx'), signUp('by')]);
    const self = await block(a, a.userId);
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('invalid_request');
    const unknown = await block(a, 'u_doesnotexist');
    expect(unknown.status).toBe(404);
    expect((await block(a, b.userId)).status).toBe(204);
    expect((await block(a, c.userId)).status).toBe(204);
    const first = await api('/blocks?limit=1', { token: a.token });
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await api(`/blocks?limit=1&cursor=${first.body.nextCursor}`, { token: a.token });
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    expect(new Set([first.body.items[0].user.userId, second.body.items[0].user.userId])).toEqual(
      new Set([b.userId, c.userId]),
    );
    const bad = await api('/blocks?cursor=nonsense', { token: a.token });
    expect(bad.status).toBe(400);
  });

  it('blocks concurrently with befriending without leaving a friendship behind', async () => {
    const [a, b] = await Promise.all([signUp('bz'), signUp('ca')]);
    const asked = await request(b, a);
    const [accepted, blocked] = await Promise.all([
      api(`/friend-requests/${asked.body.requestId}/accept`, { method: 'POST', token: a.token }),
      block(a, b.userId),
    ]);
    expect(blocked.status).toBe(204);
    expect([200, 403, 404]).toContain(accepted.status);
    expect(await friendIds(a)).not.toContain(b.userId);
    expect(await friendIds(b)).not.toContain(a.userId);
  });
});
