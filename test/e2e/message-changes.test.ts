import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ChatClient, type Message, type SocketLike } from '../../clients/sdk/index.js';
import { api, httpUrl, wsUrl } from '../support/clients.js';
import { befriend, type E2eUser, signUp } from '../support/e2e-users.js';
import { scanAll } from '../support/tables.js';
import { newUser } from '../support/users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();

const send = (u: E2eUser, conversationId: string, clientMessageId: string, text: string, extra = {}) =>
  api(`/conversations/${conversationId}/messages`, {
    method: 'POST',
    token: u.token,
    body: { clientMessageId, text, ...extra },
  });
const messagePath = (conversationId: string, seq: number | string) =>
  `/conversations/${conversationId}/messages/${seq}`;
const edit = (u: E2eUser, conversationId: string, seq: number | string, text: unknown) =>
  api(messagePath(conversationId, seq), { method: 'PATCH', token: u.token, body: { text } });
const remove = (u: E2eUser, conversationId: string, seq: number | string) =>
  api(messagePath(conversationId, seq), { method: 'DELETE', token: u.token });
const reactTo = (u: E2eUser, conversationId: string, seq: number, emoji: unknown) =>
  api(`${messagePath(conversationId, seq)}/reactions`, { method: 'POST', token: u.token, body: { emoji } });
const unreact = (u: E2eUser, conversationId: string, seq: number, emoji: string) =>
  api(`${messagePath(conversationId, seq)}/reactions/${encodeURIComponent(emoji)}`, {
    method: 'DELETE',
    token: u.token,
  });
const history = async (u: E2eUser, conversationId: string) => {
  const res = await api(`/conversations/${conversationId}/messages?limit=200`, { token: u.token });
  expect(res.status).toBe(200);
  return res.body as { items: any[]; hasMore: boolean; changeSeq: number };
};

/** The error body of the contract, with its code. */
const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toMatchObject({ code, message: expect.any(String), requestId: expect.any(String) });
};

/** Search is eventually consistent: poll until the expectation holds. */
async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A group of the owner and `others`, active (waits for the saga when it runs as one). */
async function groupOf(owner: E2eUser, others: readonly E2eUser[]): Promise<string> {
  const res = await api('/groups', {
    method: 'POST',
    token: owner.token,
    body: { name: 'g', memberIds: others.map((u) => u.userId) },
  });
  expect([201, 202]).toContain(res.status);
  const conversationId = (res.body.conversation ?? res.body).conversationId as string;
  const ready = await eventually(
    () => api(`/conversations/${conversationId}`, { token: owner.token }),
    (r) => r.status === 200 && r.body.status === 'active',
    60_000,
  );
  expect(ready.body.status).toBe('active');
  return conversationId;
}

describe('editing messages', () => {
  it('lets the sender edit: same seq, version + 1, editedAt, messageEdited to the members', async () => {
    const [a, b, outsider] = await Promise.all([signUp('a'), signUp('b'), signUp('o')]);
    const conversationId = await befriend(a, b);
    expect((await send(a, conversationId, 'e1', 'first draft')).status).toBe(201);
    const wb = await connect(b.token);
    const edited = await edit(a, conversationId, 1, 'second draft');
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      seq: 1,
      text: 'second draft',
      version: 2,
      editedAt: expect.any(String),
    });
    const event = await wb.next((f) => f.type === 'messageEdited');
    expect(event.message).toMatchObject({ conversationId, seq: 1, text: 'second draft', version: 2 });
    const page = await history(b, conversationId);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ seq: 1, text: 'second draft', version: 2 });
    const list = await api('/conversations', { token: b.token });
    const entry = list.body.items.find((c: any) => c.conversationId === conversationId);
    expect(entry.lastMessage).toMatchObject({ seq: 1, text: 'second draft', version: 2 });

    expectError(await edit(b, conversationId, 1, 'not mine'), 403, 'forbidden');
    expectError(await edit(outsider, conversationId, 1, 'x'), 403, 'not_a_member');
    expectError(await edit(a, conversationId, 99, 'x'), 404, 'not_found');
    expectError(await edit(a, conversationId, 'abc', 'x'), 400, 'invalid_request');
    expectError(await edit(a, conversationId, 1, '   \n '), 400, 'invalid_request');
    expectError(await edit(a, conversationId, 1, 42), 400, 'invalid_request');
    expect((await edit(a, conversationId, 1, 'x'.repeat(4001))).status).toBe(413);
    // Nothing of the refused edits was written.
    expect((await history(a, conversationId)).items[0]).toMatchObject({ text: 'second draft', version: 2 });

    // Once they are no longer friends the conversation is read-only: no edit or reaction, but the
    // sender may still delete.
    expect((await api(`/friends/${b.userId}`, { method: 'DELETE', token: a.token })).status).toBe(204);
    expectError(await edit(a, conversationId, 1, 'after the end'), 403, 'not_friends');
    expectError(await reactTo(a, conversationId, 1, '👍'), 403, 'not_friends');
    expect((await history(a, conversationId)).items[0]).toMatchObject({ text: 'second draft', version: 2 });
    expect((await remove(a, conversationId, 1)).status).toBe(204);
  });

  it('edits over the WebSocket with an ack, and search follows the new version only', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const tag = Date.now().toString(36);
    expect((await send(a, conversationId, 's1', `walrus${tag} original`)).status).toBe(201);
    await eventually(
      () => api(`/search/messages?q=walrus${tag}`, { token: b.token }),
      (r) => r.body.items?.length === 1,
    );
    const wa = await connect(a.token);
    const ack = await wa.request({
      action: 'editMessage',
      conversationId,
      seq: 1,
      text: `narwhal${tag} edited`,
    });
    expect(ack).toMatchObject({ type: 'ack', message: { seq: 1, version: 2, text: `narwhal${tag} edited` } });
    const found = await eventually(
      () => api(`/search/messages?q=narwhal${tag}`, { token: b.token }),
      (r) => r.body.items?.length === 1,
    );
    expect(found.body.items[0].message).toMatchObject({ seq: 1, version: 2, text: `narwhal${tag} edited` });
    const old = await api(`/search/messages?q=walrus${tag}`, { token: b.token });
    expect(old.body.items).toEqual([]);
    const refused = await wa.request({ action: 'editMessage', conversationId, seq: 7, text: 'x' });
    expect(refused).toMatchObject({ type: 'error', code: 'not_found' });
  });
});

describe('deleting messages', () => {
  it('leaves a tombstone: text gone from history, summary and search; unread counts unchanged', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const tag = Date.now().toString(36);
    expect((await send(a, conversationId, 'd1', `keep${tag}`)).status).toBe(201);
    expect((await send(a, conversationId, 'd2', `secret${tag} words`)).status).toBe(201);
    await eventually(
      () => api(`/search/messages?q=secret${tag}`, { token: b.token }),
      (r) => r.body.items?.length === 1,
    );
    const before = (await api('/conversations', { token: b.token })).body.items.find(
      (c: any) => c.conversationId === conversationId,
    );
    expectError(await remove(b, conversationId, 2), 403, 'forbidden');
    const wb = await connect(b.token);
    expect((await remove(a, conversationId, 2)).status).toBe(204);
    const event = await wb.next((f) => f.type === 'messageDeleted');
    expect(event).toMatchObject({ conversationId, seq: 2, deletedAt: expect.any(String), version: 2 });
    const page = await history(b, conversationId);
    expect(page.items.map((m) => m.seq)).toEqual([1, 2]);
    expect(page.items[1]).toMatchObject({ seq: 2, text: '', version: 2, deletedAt: expect.any(String) });
    const after = (await api('/conversations', { token: b.token })).body.items.find(
      (c: any) => c.conversationId === conversationId,
    );
    expect(after.lastMessage).toMatchObject({ seq: 2, text: '', deletedAt: expect.any(String) });
    expect(after).toMatchObject({
      lastSeq: 2,
      unreadCount: before.unreadCount,
      lastReadSeq: before.lastReadSeq,
    });
    // The item keeps no text.
    const stored = (await scanAll('messages')).filter((m) => m.conversationId === conversationId);
    expect(stored.find((m) => m.seq === 2)).toMatchObject({ text: '' });
    expect(JSON.stringify(stored)).not.toContain(`secret${tag}`);
    const conv = (await scanAll('conversations')).find((c) => c.conversationId === conversationId);
    expect(JSON.stringify(conv)).not.toContain(`secret${tag}`);
    const gone = await eventually(
      () => api(`/search/messages?q=secret${tag}`, { token: b.token }),
      (r) => r.body.items?.length === 0,
    );
    expect(gone.body.items).toEqual([]);
    // A deleted message takes no edit or reaction; deleting again changes nothing.
    expectError(await edit(a, conversationId, 2, 'back'), 404, 'not_found');
    expectError(await reactTo(b, conversationId, 2, '👍'), 404, 'not_found');
    expect((await remove(a, conversationId, 2)).status).toBe(204);
    expect((await history(a, conversationId)).items[1]).toMatchObject({ version: 2, text: '' });
    expectError(await remove(a, conversationId, 3), 404, 'not_found');
  });

  it("lets a group's owner delete anyone's message, and members only their own", async () => {
    const [owner, m1, m2] = await Promise.all([signUp('own'), signUp('m'), signUp('m')]);
    const conversationId = await groupOf(owner, [m1, m2]);
    expect((await send(owner, conversationId, 'o1', 'from the owner')).status).toBe(201);
    expect((await send(m1, conversationId, 'm1', 'from m1')).status).toBe(201);
    expectError(await remove(m2, conversationId, 2), 403, 'forbidden');
    expectError(await remove(m1, conversationId, 1), 403, 'forbidden');
    const wm = await connect(m1.token);
    const ack = await wm.request({ action: 'deleteMessage', conversationId, seq: 2 });
    expect(ack).toMatchObject({ type: 'ack' });
    expect((await send(m2, conversationId, 'm2', 'from m2')).status).toBe(201);
    expect((await remove(owner, conversationId, 3)).status).toBe(204);
    const page = await history(m2, conversationId);
    expect(page.items.map((m) => [m.seq, m.text, Boolean(m.deletedAt)])).toEqual([
      [1, 'from the owner', false],
      [2, '', true],
      [3, '', true],
    ]);
  });
});

describe('reactions', () => {
  it('counts one of each emoji per user, shows your own, and tells the members', async () => {
    const [a, b, outsider] = await Promise.all([signUp('a'), signUp('b'), signUp('o')]);
    const conversationId = await befriend(a, b);
    expect((await send(a, conversationId, 'r1', 'react to me')).status).toBe(201);
    const wa = await connect(a.token);
    const first = await reactTo(b, conversationId, 1, '👍');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ seq: 1, reactions: { '👍': 1 }, myReactions: ['👍'] });
    const event = await wa.next((f) => f.type === 'reaction');
    expect(event).toMatchObject({
      conversationId,
      seq: 1,
      userId: b.userId,
      emoji: '👍',
      op: 'add',
      reactions: { '👍': 1 },
    });
    // The same emoji again changes nothing.
    expect((await reactTo(b, conversationId, 1, '👍')).body.reactions).toEqual({ '👍': 1 });
    expect((await reactTo(a, conversationId, 1, '👍')).body.reactions).toEqual({ '👍': 2 });
    const ack = await wa.request({ action: 'react', conversationId, seq: 1, emoji: '👩‍💻' });
    expect(ack.message).toMatchObject({ reactions: { '👍': 2, '👩‍💻': 1 } });
    expect(ack.message.myReactions.sort()).toEqual(['👍', '👩‍💻'].sort());
    const seenByB = (await history(b, conversationId)).items[0];
    expect(seenByB).toMatchObject({ reactions: { '👍': 2, '👩‍💻': 1 }, myReactions: ['👍'] });

    for (const bad of ['a', '👍👍', '', 'thumbs up', 1, null]) {
      expectError(await reactTo(a, conversationId, 1, bad), 400, 'invalid_request');
    }
    expectError(await reactTo(outsider, conversationId, 1, '👍'), 403, 'not_a_member');
    expectError(await reactTo(a, conversationId, 5, '👍'), 404, 'not_found');

    const removed = await unreact(b, conversationId, 1, '👍');
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ reactions: { '👍': 1, '👩‍💻': 1 } });
    expect(removed.body.myReactions).toBeUndefined();
    expect((await unreact(b, conversationId, 1, '👍')).body.reactions).toEqual({ '👍': 1, '👩‍💻': 1 });
    const wsRemove = await wa.request({
      action: 'react',
      conversationId,
      seq: 1,
      emoji: '👩‍💻',
      op: 'remove',
    });
    expect(wsRemove.message.reactions).toEqual({ '👍': 1 });
    expectError(await unreact(b, conversationId, 1, 'x'), 400, 'invalid_request');
  });

  it('loses no count when fifty members react at once, and the tables agree', async () => {
    const owner = await signUp('own');
    const others = await Promise.all(Array.from({ length: 50 }, () => newUser('rx')));
    const conversationId = await groupOf(owner, others);
    expect((await send(owner, conversationId, 'hot', 'react, everyone')).status).toBe(201);
    const results = await Promise.all(
      others.flatMap((u, i) => [
        reactTo(u, conversationId, 1, '🎉'),
        ...(i % 2 === 0 ? [reactTo(u, conversationId, 1, '❤️')] : []),
      ]),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const message = (await history(owner, conversationId)).items[0];
    expect(message.reactions).toEqual({ '🎉': 50, '❤️': 25 });
    const item = (await scanAll('messages')).find((m) => m.conversationId === conversationId && m.seq === 1);
    expect(item?.reactions).toEqual({ '🎉': 50, '❤️': 25 });
    const reactions = (await scanAll('reactions')).filter((r) => r.conversationId === conversationId);
    expect(reactions).toHaveLength(75);
    expect(new Set(reactions.map((r) => `${r.userId}#${r.emoji}`)).size).toBe(75);
    const changes = (await scanAll('messageChanges')).filter((c) => c.conversationId === conversationId);
    // The head holds the last change number; one row per changed message, at its latest change.
    expect(changes.find((c) => c.changeSeq === 0)?.lastChangeSeq).toBe(75);
    expect(changes.filter((c) => c.changeSeq > 0)).toEqual([{ conversationId, changeSeq: 75, seq: 1 }]);
    expect(item?.changeSeq).toBe(75);
  });
});

describe('replies', () => {
  it('checks the parent, quotes it in history, and shows a deleted parent as deleted', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    const other = await befriend(a, await signUp('c'));
    expect((await send(a, conversationId, 'p1', `the parent ${'x'.repeat(150)}`)).status).toBe(201);
    expect((await send(a, other, 'q1', 'elsewhere')).status).toBe(201);
    const reply = await send(b, conversationId, 'r1', 'the reply', { replyTo: { seq: 1 } });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ seq: 2, replyTo: { seq: 1 } });
    const wb = await connect(b.token);
    const ack = await wb.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'r2',
      text: 'over ws',
      replyTo: { seq: 2 },
    });
    expect(ack.message).toMatchObject({ seq: 3, replyTo: { seq: 2 } });
    expectError(await send(b, conversationId, 'r3', 'x', { replyTo: { seq: 9 } }), 404, 'not_found');
    expectError(await send(b, conversationId, 'r4', 'x', { replyTo: { seq: 0 } }), 400, 'invalid_request');
    expectError(await send(b, conversationId, 'r5', 'x', { replyTo: 1 }), 400, 'invalid_request');
    const refused = await wb.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'r6',
      text: 'x',
      replyTo: { seq: 40 },
    });
    expect(refused).toMatchObject({ type: 'error', code: 'not_found' });

    let page = await history(a, conversationId);
    expect(page.items.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(page.items[1].replyTo).toEqual({
      seq: 1,
      senderId: a.userId,
      text: `the parent ${'x'.repeat(89)}`,
    });
    expect(page.items[2].replyTo).toEqual({ seq: 2, senderId: b.userId, text: 'the reply' });

    expect((await remove(a, conversationId, 1)).status).toBe(204);
    page = await history(b, conversationId);
    expect(page.items[1].replyTo).toEqual({ seq: 1, senderId: a.userId, text: '', deleted: true });
    expectError(await send(b, conversationId, 'r7', 'x', { replyTo: { seq: 1 } }), 404, 'not_found');
  });
});

describe('change-aware sync', () => {
  it('brings a reconnecting client every edit, deletion and reaction since its token', async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    for (let i = 1; i <= 4; i++) expect((await send(a, conversationId, `c${i}`, `m${i}`)).status).toBe(201);
    const first = await connect(b.token);
    const synced = await first.request({ action: 'sync', conversationId, afterSeq: 0 });
    expect(synced.messages.map((m: any) => m.seq)).toEqual([1, 2, 3, 4]);
    const token = synced.changeSeq as number;
    expect(token).toBe(0);
    await first.close();

    // While b is away: an edit, a deletion, reactions (two on one message), and a new message.
    expect((await edit(a, conversationId, 1, 'm1 edited')).status).toBe(200);
    expect((await remove(a, conversationId, 2)).status).toBe(204);
    expect((await reactTo(a, conversationId, 3, '👍')).status).toBe(200);
    expect((await reactTo(b, conversationId, 3, '🔥')).status).toBe(200);
    expect((await send(a, conversationId, 'c5', 'm5')).status).toBe(201);

    const again = await connect(b.token);
    const caught = await again.request({
      action: 'sync',
      conversationId,
      afterSeq: 4,
      afterChangeSeq: token,
    });
    expect(caught.messages.map((m: any) => m.seq)).toEqual([5]);
    expect(caught.changeSeq).toBe(4);
    expect(caught.changesHasMore).toBe(false);
    const bySeq = new Map(caught.changes.map((m: any) => [m.seq, m]));
    expect([...bySeq.keys()]).toEqual([1, 2, 3]);
    expect(bySeq.get(1)).toMatchObject({ text: 'm1 edited', version: 2, editedAt: expect.any(String) });
    expect(bySeq.get(2)).toMatchObject({ text: '', deletedAt: expect.any(String) });
    expect(bySeq.get(3)).toMatchObject({
      reactions: { '👍': 1, '🔥': 1 },
      myReactions: ['🔥'],
      changeSeq: 4,
    });

    // From the new token: nothing, until the next change.
    const quiet = await again.request({ action: 'sync', conversationId, afterSeq: 5, afterChangeSeq: 4 });
    expect(quiet).toMatchObject({ messages: [], changes: [], changeSeq: 4 });
    expect((await edit(a, conversationId, 1, 'm1 again')).status).toBe(200);
    const next = await again.request({ action: 'sync', conversationId, afterSeq: 5, afterChangeSeq: 4 });
    expect(next.changes.map((m: any) => [m.seq, m.text, m.changeSeq])).toEqual([[1, 'm1 again', 5]]);

    // The same over HTTP, paginated.
    const p1 = await api(`/conversations/${conversationId}/changes?afterChangeSeq=0&limit=2`, {
      token: b.token,
    });
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ hasMore: true, changeSeq: 4 });
    expect(p1.body.items.map((m: any) => m.seq)).toEqual([2, 3]);
    const p2 = await api(`/conversations/${conversationId}/changes?afterChangeSeq=4&limit=2`, {
      token: b.token,
    });
    expect(p2.body).toMatchObject({ hasMore: false, changeSeq: 5 });
    expect(p2.body.items.map((m: any) => m.seq)).toEqual([1]);
    expect((await history(b, conversationId)).changeSeq).toBe(5);
    const outsider = await signUp('o');
    expectError(
      await api(`/conversations/${conversationId}/changes`, { token: outsider.token }),
      403,
      'not_a_member',
    );
    expectError(
      await api(`/conversations/${conversationId}/changes?afterChangeSeq=-1`, { token: b.token }),
      400,
      'invalid_request',
    );
  });

  it("the SDK's session catches up on changes after a reconnect and emits them as changed", async () => {
    const [a, b] = await Promise.all([signUp('a'), signUp('b')]);
    const conversationId = await befriend(a, b);
    for (let i = 1; i <= 3; i++) expect((await send(a, conversationId, `k${i}`, `k${i}`)).status).toBe(201);
    // While `offline`, new connections go nowhere (a closed port), as during a network outage.
    let offline = false;
    let syncAnswers = 0;
    const sockets: WebSocket[] = [];
    const client = new ChatClient(
      {
        httpUrl: httpUrl(),
        wsUrl: wsUrl(),
        socketFactory: (url) => {
          const socket = new WebSocket(offline ? 'ws://127.0.0.1:9' : url);
          socket.on('error', () => undefined);
          socket.on('message', (data) => {
            if ((JSON.parse(data.toString()) as { type?: string }).type === 'sync') syncAnswers++;
          });
          sockets.push(socket);
          return socket as unknown as SocketLike;
        },
        session: { backoff: { baseMs: 50, maxMs: 400 } },
      },
      {
        user: { userId: b.userId, username: b.username, displayName: '', bio: '', version: 1, createdAt: '' },
        token: b.token,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    );
    const changed: Message[] = [];
    client.live.on('changed', (m) => changed.push(m));
    try {
      await client.connect();
      // The first sync after connecting learns the change token.
      await vi.waitFor(() => expect(syncAnswers).toBeGreaterThan(0), { timeout: 10_000, interval: 50 });
      offline = true;
      sockets.at(-1)?.terminate();
      expect((await edit(a, conversationId, 1, 'k1 edited')).status).toBe(200);
      expect((await remove(a, conversationId, 2)).status).toBe(204);
      expect((await reactTo(a, conversationId, 3, '👍')).status).toBe(200);
      offline = false;
      await vi.waitFor(() => expect(changed.map((m) => m.seq).sort()).toEqual([1, 2, 3]), {
        timeout: 15_000,
        interval: 100,
      });
      const bySeq = new Map(changed.map((m) => [m.seq, m]));
      expect(bySeq.get(1)).toMatchObject({ text: 'k1 edited', version: 2 });
      expect(bySeq.get(2)).toMatchObject({ text: '', deletedAt: expect.any(String) });
      expect(bySeq.get(3)).toMatchObject({ reactions: { '👍': 1 } });
    } finally {
      client.close();
    }
  });
});
