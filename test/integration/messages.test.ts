import { describe, expect, it } from 'vitest';
import { handler as getConversation } from '../../functions/http/conversation-get.js';
import { handler as listConversations } from '../../functions/http/conversations-list.js';
import { handler as removeFriend } from '../../functions/http/friends-remove.js';
import { handler as addMembers } from '../../functions/http/members-add.js';
import { handler as removeMember } from '../../functions/http/members-remove.js';
import { handler as history } from '../../functions/http/messages-list.js';
import { handler as send } from '../../functions/http/messages-send.js';
import { handler as markRead } from '../../functions/http/read-mark.js';
import { call, httpEvent } from '../support/lambda.js';
import { friends, group } from '../support/social.js';
import { scanAll } from '../support/tables.js';
import { newUser } from '../support/users.js';

const sendAs = (
  userId: string,
  conversationId: string,
  clientMessageId: string,
  text = `text ${clientMessageId}`,
) =>
  call(
    send,
    httpEvent('POST /conversations/{conversationId}/messages', `/conversations/${conversationId}/messages`, {
      userId,
      pathParameters: { conversationId },
      body: { clientMessageId, text },
    }),
  );
const historyOf = (userId: string, conversationId: string, query: Record<string, string> = {}) =>
  call(
    history,
    httpEvent('GET /conversations/{conversationId}/messages', `/conversations/${conversationId}/messages`, {
      userId,
      pathParameters: { conversationId },
      query,
    }),
  );
const readAs = (userId: string, conversationId: string, seq: number) =>
  call(
    markRead,
    httpEvent('POST /conversations/{conversationId}/read', `/conversations/${conversationId}/read`, {
      userId,
      pathParameters: { conversationId },
      body: { seq },
    }),
  );
const conversationsOf = async (userId: string) =>
  (await call(listConversations, httpEvent('GET /conversations', '/conversations', { userId }))).body
    .items as any[];

async function allMessages(userId: string, conversationId: string) {
  const out: any[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await historyOf(userId, conversationId, { afterSeq: String(afterSeq), limit: '200' });
    expect(page.status).toBe(200);
    out.push(...page.body.items);
    if (!page.body.hasMore) return out;
    afterSeq = out[out.length - 1].seq;
  }
}

describe('sending messages', () => {
  it('gives 10 concurrent senders x 50 messages seq 1..500 with no gap, no duplicate, each sender in order', async () => {
    const { users, conversationId } = await group(10);
    const results = await Promise.all(
      users.map(async (u) => {
        const seqs: number[] = [];
        for (let i = 0; i < 50; i++) {
          const res = await sendAs(u.userId, conversationId, `${u.userId}-${i}`);
          expect(res.status).toBe(201);
          seqs.push(res.body.seq);
        }
        return seqs;
      }),
    );
    for (const seqs of results) expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    const stored = await allMessages(users[0]!.userId, conversationId);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(new Set(stored.map((m) => `${m.senderId}|${m.clientMessageId}`)).size).toBe(500);
    for (const u of users) {
      const mine = stored.filter((m) => m.senderId === u.userId).map((m) => m.clientMessageId);
      expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => `${u.userId}-${i}`));
    }
    const [conversation] = (await scanAll('conversations')).filter(
      (c) => c.conversationId === conversationId,
    );
    expect(conversation?.lastSeq).toBe(500);
    expect((await scanAll('messageGuards')).filter((g) => g.conversationId === conversationId)).toHaveLength(
      500,
    );
  });

  it('stores one copy when a send is retried, sequentially or concurrently', async () => {
    const { a, conversationId } = await friends();
    const first = await sendAs(a.userId, conversationId, 'retry-1', 'hello');
    const again = await sendAs(a.userId, conversationId, 'retry-1', 'hello');
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // Within the default send burst (20) with the two sends above: every retry takes a token too.
    const burst = await Promise.all(
      Array.from({ length: 15 }, () => sendAs(a.userId, conversationId, 'retry-2', 'x')),
    );
    expect(burst.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(burst.map((r) => r.body.seq)).size).toBe(1);
    const stored = await allMessages(a.userId, conversationId);
    expect(stored.map((m) => m.clientMessageId)).toEqual(['retry-1', 'retry-2']);
  });

  it('refuses sends between former friends with 403 not_friends, keeping the history', async () => {
    const { a, b, conversationId } = await friends();
    await sendAs(a.userId, conversationId, 'before');
    await call(
      removeFriend,
      httpEvent('DELETE /friends/{userId}', `/friends/${b.userId}`, {
        userId: a.userId,
        pathParameters: { userId: b.userId },
      }),
    );
    const res = await sendAs(b.userId, conversationId, 'after');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('not_friends');
    expect((await allMessages(b.userId, conversationId)).map((m) => m.clientMessageId)).toEqual(['before']);
  });

  it('answers 413 for text over 4000 characters and 400 for empty text, writing nothing', async () => {
    const { a, conversationId } = await friends();
    expect((await sendAs(a.userId, conversationId, 'big', 'x'.repeat(4001))).status).toBe(413);
    expect((await sendAs(a.userId, conversationId, 'empty', '')).status).toBe(400);
    expect((await sendAs(a.userId, conversationId, 'ok', '你好'.repeat(2000))).status).toBe(201);
    expect(await allMessages(a.userId, conversationId)).toHaveLength(1);
  });
});

describe('authorization', () => {
  it('keeps an outsider from reading, sending, marking read or seeing a conversation', async () => {
    const { a, conversationId } = await friends();
    const outsider = await newUser('out');
    await sendAs(a.userId, conversationId, 'secret');
    for (const res of [
      await sendAs(outsider.userId, conversationId, 'x'),
      await historyOf(outsider.userId, conversationId),
      await readAs(outsider.userId, conversationId, 1),
      await call(
        getConversation,
        httpEvent('GET /conversations/{conversationId}', `/conversations/${conversationId}`, {
          userId: outsider.userId,
          pathParameters: { conversationId },
        }),
      ),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('not_a_member');
      expect(JSON.stringify(res.body)).not.toContain('secret');
    }
    expect(await conversationsOf(outsider.userId)).toEqual([]);
  });
});

describe('read state', () => {
  it('counts unread messages and only moves the read position forward', async () => {
    const { a, b, conversationId } = await friends();
    for (const id of ['1', '2', '3']) await sendAs(a.userId, conversationId, id);
    expect((await conversationsOf(b.userId))[0]).toMatchObject({
      lastSeq: 3,
      lastReadSeq: 0,
      unreadCount: 3,
    });
    expect((await readAs(b.userId, conversationId, 2)).status).toBe(204);
    expect((await readAs(b.userId, conversationId, 1)).status).toBe(204);
    expect((await conversationsOf(b.userId))[0]).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
    await readAs(b.userId, conversationId, 99);
    expect((await conversationsOf(b.userId))[0]).toMatchObject({ lastReadSeq: 3, unreadCount: 0 });
  });

  it('lists conversations by latest activity', async () => {
    const { a, conversationId: first } = await friends();
    const other = await newUser('c');
    const { acceptFriendRequest, sendFriendRequest } = await import('#shared/domain/friends.js');
    const req = await sendFriendRequest(a.userId, other.userId, '');
    if (req.kind !== 'created') throw new Error('expected created');
    const { conversationId: second } = await acceptFriendRequest(other.userId, req.request.requestId);
    await sendAs(a.userId, first, 'latest');
    expect((await conversationsOf(a.userId)).map((c) => c.conversationId)).toEqual([first, second]);
    await sendAs(a.userId, second, 'later');
    expect((await conversationsOf(a.userId)).map((c) => c.conversationId)).toEqual([second, first]);
  });
});

describe('groups', () => {
  it('lets the owner add and remove members and a member leave', async () => {
    const { users, owner, conversationId } = await group(3);
    const newcomer = await newUser('new');
    const added = await call(
      addMembers,
      httpEvent('POST /conversations/{conversationId}/members', `/conversations/${conversationId}/members`, {
        userId: owner.userId,
        pathParameters: { conversationId },
        body: { userIds: [newcomer.userId] },
      }),
    );
    expect(added.status).toBe(200);
    expect(added.body.memberCount).toBe(4);
    expect((await conversationsOf(newcomer.userId)).map((c) => c.conversationId)).toEqual([conversationId]);
    const notOwner = await call(
      addMembers,
      httpEvent('POST /conversations/{conversationId}/members', `/conversations/${conversationId}/members`, {
        userId: users[1]!.userId,
        pathParameters: { conversationId },
        body: { userIds: [newcomer.userId] },
      }),
    );
    expect(notOwner.status).toBe(403);
    const leave = (who: string, target: string) =>
      call(
        removeMember,
        httpEvent(
          'DELETE /conversations/{conversationId}/members/{userId}',
          `/conversations/${conversationId}/members/${target}`,
          { userId: who, pathParameters: { conversationId, userId: target } },
        ),
      );
    expect((await leave(users[1]!.userId, users[2]!.userId)).status).toBe(403);
    expect((await leave(owner.userId, users[2]!.userId)).status).toBe(204);
    expect((await leave(newcomer.userId, newcomer.userId)).status).toBe(204);
    expect((await sendAs(newcomer.userId, conversationId, 'gone')).status).toBe(403);
    const details = await call(
      getConversation,
      httpEvent('GET /conversations/{conversationId}', `/conversations/${conversationId}`, {
        userId: owner.userId,
        pathParameters: { conversationId },
      }),
    );
    expect(details.body.memberCount).toBe(2);
    expect(details.body.members.map((m: any) => m.userId).sort()).toEqual(
      [owner.userId, users[1]!.userId].sort(),
    );
    const { checkInvariants } = await import('#shared/domain/invariants.js');
    expect(await checkInvariants()).toEqual([]);
  });
});
