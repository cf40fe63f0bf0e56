// Small limits for this file only (each test file runs in its own process), so the limits can be
// reached with a handful of users; the mechanism is the one the stack's defaults use.
process.env.MAX_PENDING_FRIEND_REQUESTS = '3';
process.env.GROUPS_BURST = '2';
process.env.NON_FRIEND_INVITES_PER_HOUR = '4';

import { describe, expect, it } from 'vitest';
import { handler as listConversations } from '../../functions/http/conversations-list.js';
import { handler as askFriend } from '../../functions/http/friend-requests-create.js';
import { handler as listFriends } from '../../functions/http/friends-list.js';
import { handler as createGroup } from '../../functions/http/groups-create.js';
import { handler as addMembers } from '../../functions/http/members-add.js';
import { call, httpEvent } from '../support/lambda.js';
import { friends } from '../support/social.js';
import { newUser } from '../support/users.js';

const ask = (from: string, to: string) =>
  call(
    askFriend,
    httpEvent('POST /friend-requests', '/friend-requests', { userId: from, body: { toUserId: to } }),
  );
const group = (owner: string, memberIds: string[]) =>
  call(createGroup, httpEvent('POST /groups', '/groups', { userId: owner, body: { name: 'g', memberIds } }));
const add = (owner: string, conversationId: string, userIds: string[]) =>
  call(
    addMembers,
    httpEvent('POST /conversations/{conversationId}/members', `/conversations/${conversationId}/members`, {
      userId: owner,
      pathParameters: { conversationId },
      body: { userIds },
    }),
  );
const users = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => newUser(`s${i}`)));

describe('spam limits', () => {
  it('caps pending outgoing friend requests per sender', async () => {
    const [me, ...others] = await users(5);
    const sent = [];
    for (const other of others.slice(0, 3)) sent.push(await ask(me?.userId as string, other.userId));
    expect(sent.map((r) => r.status)).toEqual([201, 201, 201]);
    const refused = await ask(me?.userId as string, others[3]?.userId as string);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'throttled' });
    // Someone else is not limited by this user's pending requests.
    expect((await ask(others[3]?.userId as string, others[2]?.userId as string)).status).toBe(201);
  });

  it('limits groups created per user and invitations of non-friends, not of friends', async () => {
    const { a: owner, b: friend } = await friends();
    const strangers = await users(6);
    const ids = strangers.map((s) => s.userId);
    const first = await group(owner.userId, [friend.userId, ...ids.slice(0, 3)]);
    expect(first.status).toBe(201);
    const conversationId = first.body.conversationId as string;
    // Quota: 4 strangers per hour; 3 spent, 2 more is one too many, and nothing is added.
    const over = await add(owner.userId, conversationId, ids.slice(3, 5));
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('throttled');
    expect((await add(owner.userId, conversationId, ids.slice(3, 4))).status).toBe(200);
    // Groups: a burst of 2; the second uses only the friend, the third is refused.
    expect((await group(owner.userId, [friend.userId])).status).toBe(201);
    const third = await group(owner.userId, [friend.userId]);
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('throttled');
    // Another user has a quota of their own.
    expect((await group(friend.userId, [])).status).toBe(201);
  });
});

describe('cursor pagination', () => {
  it('pages GET /conversations and GET /friends with no item lost or repeated', async () => {
    const me = await newUser('pager');
    const peers = await users(5);
    for (const peer of peers) {
      const sent = await ask(peer.userId, me.userId);
      expect(sent.status).toBe(201);
      const back = await ask(me.userId, peer.userId);
      expect(back.status).toBe(200);
    }
    const readAll = async (handler: typeof listFriends, route: string) => {
      const seen: any[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const query: Record<string, string> = { limit: '2', ...(cursor ? { cursor } : {}) };
        const res = await call(handler, httpEvent(`GET ${route}`, route, { userId: me.userId, query }));
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      return { seen, pages };
    };
    const friendsPaged = await readAll(listFriends, '/friends');
    expect(friendsPaged.pages).toBe(3);
    expect(friendsPaged.seen.map((f) => f.user.userId).sort()).toEqual(peers.map((p) => p.userId).sort());
    const whole = await call(listFriends, httpEvent('GET /friends', '/friends', { userId: me.userId }));
    expect(whole.body.items).toEqual(friendsPaged.seen);
    expect(whole.body.nextCursor).toBeNull();
    const convPaged = await readAll(listConversations, '/conversations');
    expect(convPaged.seen).toHaveLength(5);
    expect(new Set(convPaged.seen.map((c) => c.conversationId)).size).toBe(5);
    const bad = await call(
      listFriends,
      httpEvent('GET /friends', '/friends', { userId: me.userId, query: { cursor: 'not-a-cursor' } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });
});
