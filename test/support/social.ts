import { acceptFriendRequest, sendFriendRequest } from '#shared/domain/friends.js';
import { createGroup } from '#shared/domain/groups.js';
import { newUser } from './users.js';

/** Two fresh users who are friends, with their direct conversation. */
export async function friends() {
  const [a, b] = await Promise.all([newUser('a'), newUser('b')]);
  const sent = await sendFriendRequest(a.userId, b.userId, '');
  if (sent.kind !== 'created') throw new Error('expected a new request');
  const { conversationId } = await acceptFriendRequest(b.userId, sent.request.requestId);
  return { a, b, conversationId };
}

/** A fresh group of `size` users (the first is the owner). */
export async function group(size: number) {
  const users = await Promise.all(Array.from({ length: size }, (_, i) => newUser(`g${i}`)));
  const [owner, ...others] = users;
  if (!owner) throw new Error('empty group');
  const result = await createGroup(
    owner.userId,
    'test group',
    others.map((u) => u.userId),
  );
  return { users, owner, conversationId: result.conversation.conversationId };
}
