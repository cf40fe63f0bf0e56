import { describe, expect, it } from 'vitest';
import { checkInvariants } from '#shared/domain/invariants.js';
import { handler as listConversations } from '../../functions/http/conversations-list.js';
import { handler as accept } from '../../functions/http/friend-requests-accept.js';
import { handler as cancel } from '../../functions/http/friend-requests-cancel.js';
import { handler as create } from '../../functions/http/friend-requests-create.js';
import { handler as listRequests } from '../../functions/http/friend-requests-list.js';
import { handler as reject } from '../../functions/http/friend-requests-reject.js';
import { handler as listFriends } from '../../functions/http/friends-list.js';
import { handler as removeFriend } from '../../functions/http/friends-remove.js';
import { call, httpEvent } from '../support/lambda.js';
import { scanAll } from '../support/tables.js';
import { newUser } from '../support/users.js';

const ask = (from: string, to: string) =>
  call(
    create,
    httpEvent('POST /friend-requests', '/friend-requests', {
      userId: from,
      body: { toUserId: to, message: 'hi' },
    }),
  );
const acceptAs = (userId: string, requestId: string) =>
  call(
    accept,
    httpEvent('POST /friend-requests/{requestId}/accept', `/friend-requests/${requestId}/accept`, {
      userId,
      pathParameters: { requestId },
    }),
  );
const cancelAs = (userId: string, requestId: string) =>
  call(
    cancel,
    httpEvent('DELETE /friend-requests/{requestId}', `/friend-requests/${requestId}`, {
      userId,
      pathParameters: { requestId },
    }),
  );
const unfriend = (userId: string, friendId: string) =>
  call(
    removeFriend,
    httpEvent('DELETE /friends/{userId}', `/friends/${friendId}`, {
      userId,
      pathParameters: { userId: friendId },
    }),
  );
const friendsOf = async (userId: string) =>
  (await call(listFriends, httpEvent('GET /friends', '/friends', { userId }))).body.items as any[];
const conversationsOf = async (userId: string) =>
  (await call(listConversations, httpEvent('GET /conversations', '/conversations', { userId }))).body
    .items as any[];
const pending = async (userId: string, direction: string) =>
  (
    await call(
      listRequests,
      httpEvent('GET /friend-requests', '/friend-requests', { userId, query: { direction } }),
    )
  ).body.items as any[];

async function expectNoViolations() {
  expect(await checkInvariants()).toEqual([]);
}

describe('friend requests', () => {
  it('lists a new request on both sides and refuses a duplicate with 409 request_pending', async () => {
    const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
    const res = await ask(a.userId, b.userId);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      fromUserId: a.userId,
      toUserId: b.userId,
      status: 'pending',
      message: 'hi',
    });
    expect((await pending(b.userId, 'incoming')).map((r) => r.requestId)).toEqual([res.body.requestId]);
    expect((await pending(a.userId, 'outgoing')).map((r) => r.requestId)).toEqual([res.body.requestId]);
    const again = await ask(a.userId, b.userId);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('request_pending');
    await expectNoViolations();
  });

  it('answers 404 for an unknown user and 400 for oneself', async () => {
    const a = await newUser('a');
    expect((await ask(a.userId, 'u_nobody')).status).toBe(404);
    expect((await ask(a.userId, a.userId)).status).toBe(400);
  });

  it('makes 50 parallel accepts of one request all succeed with one friendship and one conversation', async () => {
    const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
    const { body: request } = await ask(a.userId, b.userId);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => acceptAs(b.userId, request.requestId)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(results.map((r) => r.body.conversationId)).size).toBe(1);
    expect(results[0]?.body.friend.userId).toBe(a.userId);
    const conversationId = results[0]?.body.conversationId;
    // Read-your-writes on both sides.
    expect((await friendsOf(a.userId)).map((f) => f.user.userId)).toEqual([b.userId]);
    expect((await friendsOf(b.userId)).map((f) => f.conversationId)).toEqual([conversationId]);
    expect((await conversationsOf(a.userId)).map((c) => c.conversationId)).toEqual([conversationId]);
    expect((await conversationsOf(b.userId))[0]).toMatchObject({
      type: 'direct',
      memberCount: 2,
      lastSeq: 0,
    });
    expect(await pending(b.userId, 'incoming')).toEqual([]);
    const friendships = (await scanAll('friendships')).filter((f) => [a.userId, b.userId].includes(f.userId));
    expect(friendships).toHaveLength(2);
    await expectNoViolations();
  });

  it('turns requests crossing at the same moment into one friendship', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
      const [ab, ba] = await Promise.all([ask(a.userId, b.userId), ask(b.userId, a.userId)]);
      expect([ab.status, ba.status].sort()).toEqual([200, 201]);
      expect((await friendsOf(a.userId)).map((f) => f.user.userId)).toEqual([b.userId]);
      expect(await pending(a.userId, 'incoming')).toEqual([]);
      expect(await pending(b.userId, 'incoming')).toEqual([]);
    }
    await expectNoViolations();
  });

  it('lets either the accept or the cancel win a race, never both', async () => {
    for (let round = 0; round < 8; round++) {
      const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
      const { body: request } = await ask(a.userId, b.userId);
      const [accepted, cancelled] = await Promise.all([
        acceptAs(b.userId, request.requestId),
        cancelAs(a.userId, request.requestId),
      ]);
      const friends = (await friendsOf(a.userId)).length === 1;
      if (accepted.status === 200) {
        expect(cancelled.status).toBe(404);
        expect(friends).toBe(true);
      } else {
        expect([accepted.status, cancelled.status]).toEqual([404, 204]);
        expect(friends).toBe(false);
      }
    }
    await expectNoViolations();
  });

  it('keeps a consistent state when an accept races a removal', async () => {
    for (let round = 0; round < 8; round++) {
      const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
      const { body: request } = await ask(a.userId, b.userId);
      const [accepted, removed] = await Promise.all([
        acceptAs(b.userId, request.requestId),
        unfriend(a.userId, b.userId),
      ]);
      expect(accepted.status).toBe(200);
      expect([204, 404]).toContain(removed.status);
      const friendsA = (await friendsOf(a.userId)).length;
      const friendsB = (await friendsOf(b.userId)).length;
      expect(friendsA).toBe(friendsB);
      expect(friendsA).toBe(removed.status === 204 ? 0 : 1);
    }
    await expectNoViolations();
  });

  it('reuses the same conversation when a removed pair befriend again', async () => {
    const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
    const first = await acceptAs(b.userId, (await ask(a.userId, b.userId)).body.requestId);
    expect((await unfriend(b.userId, a.userId)).status).toBe(204);
    expect(await friendsOf(a.userId)).toEqual([]);
    expect((await unfriend(b.userId, a.userId)).status).toBe(404);
    // The conversation and its history stay listed while they are not friends.
    expect((await conversationsOf(a.userId)).map((c) => c.conversationId)).toEqual([
      first.body.conversationId,
    ]);
    const again = await ask(b.userId, a.userId);
    const second = await acceptAs(a.userId, again.body.requestId);
    expect(second.body.conversationId).toBe(first.body.conversationId);
    const direct = (await scanAll('conversations')).filter(
      (c) => c.conversationId === first.body.conversationId,
    );
    expect(direct).toHaveLength(1);
    await expectNoViolations();
  });

  it('lets only the recipient accept or reject and only the sender cancel', async () => {
    const [a, b, c] = await Promise.all([newUser('a'), newUser('b'), newUser('c')]);
    const { body: request } = await ask(a.userId, b.userId);
    const id = request.requestId;
    expect((await acceptAs(a.userId, id)).status).toBe(403);
    expect((await acceptAs(c.userId, id)).status).toBe(404);
    expect((await cancelAs(b.userId, id)).status).toBe(403);
    const rejected = await call(
      reject,
      httpEvent('POST /friend-requests/{requestId}/reject', `/friend-requests/${id}/reject`, {
        userId: b.userId,
        pathParameters: { requestId: id },
      }),
    );
    expect(rejected.status).toBe(204);
    expect((await acceptAs(b.userId, id)).status).toBe(404);
    expect(await pending(b.userId, 'incoming')).toEqual([]);
    await expectNoViolations();
  });

  it('answers 409 already_friends to a request between friends', async () => {
    const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
    await acceptAs(b.userId, (await ask(a.userId, b.userId)).body.requestId);
    const res = await ask(b.userId, a.userId);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('already_friends');
  });
});
