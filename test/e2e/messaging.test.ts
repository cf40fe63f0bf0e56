import { describe, expect, it } from 'vitest';
import { api } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();

describe('real-time messaging over WebSocket', () => {
  it('acks the sending connection and delivers to every other connection of the members', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const [a1, a2, b1] = await Promise.all([connect(a.token), connect(a.token), connect(b.token)]);
    const ack = await a1.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'c1',
      text: '你好, world',
    });
    expect(ack).toMatchObject({
      type: 'ack',
      clientMessageId: 'c1',
      message: { seq: 1, text: '你好, world' },
    });
    const onB = await b1.next((f) => f.type === 'message');
    const onA2 = await a2.next((f) => f.type === 'message');
    expect(onB.message).toEqual(ack.message);
    expect(onA2.message).toEqual(ack.message);
    // The sending connection gets the ack only.
    await expect(a1.next((f) => f.type === 'message', 300)).rejects.toThrow();
  });

  it('returns the stored message when a send is retried with the same clientMessageId', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const ws = await connect(a.token);
    const frame = { action: 'sendMessage', conversationId, clientMessageId: 'dup', text: 'once' };
    const [x, y, z] = await Promise.all([ws.request(frame), ws.request(frame), ws.request(frame)]);
    expect(new Set([x.message.seq, y.message.seq, z.message.seq])).toEqual(new Set([1]));
    const http = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token: a.token,
      body: { clientMessageId: 'dup', text: 'once' },
    });
    expect(http.status).toBe(200);
    expect(http.body.seq).toBe(1);
    const history = await api(`/conversations/${conversationId}/messages`, { token: a.token });
    expect(history.body.items).toHaveLength(1);
  });

  it('relays typing and read events to the other members only', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const [wa, wb] = await Promise.all([connect(a.token), connect(b.token)]);
    wa.send({ action: 'typing', conversationId });
    expect(await wb.next((f) => f.type === 'typing')).toEqual({
      type: 'typing',
      conversationId,
      userId: a.userId,
    });
    await wa.request({ action: 'sendMessage', conversationId, clientMessageId: 'm', text: 'read me' });
    const ack = await wb.request({ action: 'markRead', conversationId, seq: 1 });
    expect(ack.type).toBe('ack');
    expect(await wa.next((f) => f.type === 'read')).toEqual({
      type: 'read',
      conversationId,
      userId: b.userId,
      seq: 1,
    });
    const list = await api('/conversations', { token: b.token });
    expect(list.body.items[0]).toMatchObject({ conversationId, lastReadSeq: 1, unreadCount: 0 });
  });

  it('fills gaps with sync, paginated', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    for (let i = 1; i <= 5; i++) {
      await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `s${i}`, text: `m${i}` },
      });
    }
    const wb = await connect(b.token);
    const page = await wb.request({ action: 'sync', conversationId, afterSeq: 1, limit: 2 });
    expect(page).toMatchObject({ type: 'sync', conversationId, hasMore: true });
    expect(page.messages.map((m: any) => m.seq)).toEqual([2, 3]);
    const rest = await wb.request({ action: 'sync', conversationId, afterSeq: 3 });
    expect(rest.messages.map((m: any) => m.seq)).toEqual([4, 5]);
    expect(rest.hasMore).toBe(false);
  });

  it('keeps delivering when a member connection is gone, and forgets that connection', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const [wa, wb1, wb2] = await Promise.all([connect(a.token), connect(b.token), connect(b.token)]);
    // Drop the socket without a close handshake; its record stays until a push finds it gone.
    wb2.socket.terminate();
    const ack = await wa.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'g',
      text: 'still here',
    });
    expect(ack.type).toBe('ack');
    expect((await wb1.next((f) => f.type === 'message')).message.seq).toBe(1);
  });

  it('refuses every frame about a conversation the caller is not a member of', async () => {
    const [a, b, outsider] = await Promise.all([signUp('a'), signUp('b'), signUp('o')]);
    const conversationId = await befriend(a, b);
    const [wo, wb] = await Promise.all([connect(outsider.token), connect(b.token)]);
    for (const frame of [
      { action: 'sendMessage', conversationId, clientMessageId: 'x', text: 'intrude' },
      { action: 'markRead', conversationId, seq: 1 },
      { action: 'sync', conversationId, afterSeq: 0 },
      { action: 'typing', conversationId },
    ]) {
      const err = await wo.request(frame);
      expect(err, frame.action).toMatchObject({ type: 'error', code: 'not_a_member' });
    }
    await expect(wb.next((f) => f.type === 'typing' || f.type === 'message', 300)).rejects.toThrow();
  });

  it('answers oversize text with payload_too_large and closes on frames over 32 KB', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const ws = await connect(a.token);
    const err = await ws.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'big',
      text: 'x'.repeat(4001),
    });
    expect(err).toMatchObject({ type: 'error', code: 'payload_too_large' });
    const invalid = await ws.request({ action: 'sendMessage', conversationId, text: 'no id' });
    expect(invalid).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect(invalid.message).toContain('clientMessageId');
    const closed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)));
    ws.send({ action: 'sendMessage', conversationId, clientMessageId: 'huge', text: 'x'.repeat(40_000) });
    expect(await closed).toBe(1009);
  });
});

describe('groups over HTTP', () => {
  it('creates a group atomically, tells every member and lists it for each of them', async () => {
    const [owner, m1, m2] = await Promise.all([signUp('own'), signUp('m1'), signUp('m2')]);
    const w1 = await connect(m1.token);
    const res = await api('/groups', {
      method: 'POST',
      token: owner.token,
      body: { name: 'team', memberIds: [m1.userId, m2.userId] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      type: 'group',
      name: 'team',
      memberCount: 3,
      status: 'active',
      lastSeq: 0,
    });
    const event = await w1.next((f) => f.type === 'conversationCreated');
    expect(event.conversation.conversationId).toBe(res.body.conversationId);
    for (const u of [owner, m1, m2]) {
      const list = await api('/conversations', { token: u.token });
      expect(list.body.items.map((c: any) => c.conversationId)).toContain(res.body.conversationId);
    }
    const details = await api(`/conversations/${res.body.conversationId}`, { token: m2.token });
    expect(details.body.members).toHaveLength(3);
    const missing = await api('/groups', {
      method: 'POST',
      token: owner.token,
      body: { name: 'x', memberIds: ['u_missing'] },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.missing).toEqual(['u_missing']);
  });

  it('tells members when someone joins or leaves', async () => {
    const [owner, m1, newcomer] = await Promise.all([signUp('own'), signUp('m1'), signUp('new')]);
    const created = await api('/groups', {
      method: 'POST',
      token: owner.token,
      body: { name: 't', memberIds: [m1.userId] },
    });
    const conversationId = created.body.conversationId;
    const w1 = await connect(m1.token);
    await api(`/conversations/${conversationId}/members`, {
      method: 'POST',
      token: owner.token,
      body: { userIds: [newcomer.userId] },
    });
    expect(await w1.next((f) => f.type === 'memberJoined')).toEqual({
      type: 'memberJoined',
      conversationId,
      userId: newcomer.userId,
    });
    const left = await api(`/conversations/${conversationId}/members/${newcomer.userId}`, {
      method: 'DELETE',
      token: newcomer.token,
    });
    expect(left.status).toBe(204);
    expect(await w1.next((f) => f.type === 'memberLeft')).toEqual({
      type: 'memberLeft',
      conversationId,
      userId: newcomer.userId,
    });
  });
});
