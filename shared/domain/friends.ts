import { getBlock } from '../data/blocks-repo.js';
import {
  acceptRequest,
  closeRequest,
  createRequest,
  type FriendRequestItem,
  getFriendship,
  getRequest,
  listFriendships,
  listPendingRequests,
  pendingRequestId,
  removeFriendship,
} from '../data/friends-repo.js';
import { getUser, getUsers } from '../data/users-repo.js';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.js';
import type { PageQuery } from '../protocol/requests.js';
import { withRetry } from '../retry.js';
import { directConversationId, newId } from './ids.js';
import { type Page, paginate } from './pagination.js';
import { type Presence, presenceOf } from './presence.js';
import { notifyUsers } from './push.js';
import { limitPendingFriendRequests } from './spam-limits.js';
import { type PublicProfile, toPublicProfile } from './users.js';

/** The contract's `FriendRequest`. */
export interface FriendRequest {
  requestId: string;
  fromUserId: string;
  toUserId: string;
  message: string;
  status: FriendRequestItem['status'];
  createdAt: string;
}

export interface Accepted {
  friend: PublicProfile;
  conversationId: string;
}

export type SendResult =
  | { kind: 'created'; request: FriendRequest }
  | { kind: 'accepted'; accepted: Accepted };

const toRequest = ({ requestId, fromUserId, toUserId, message, status, createdAt }: FriendRequestItem) => ({
  requestId,
  fromUserId,
  toUserId,
  message,
  status,
  createdAt,
});

async function profileOf(userId: string): Promise<PublicProfile> {
  const user = await getUser(userId);
  if (user?.status !== 'active') throw new NotFoundError('User not found');
  return toPublicProfile(user);
}

/**
 * Asks `toUserId` for friendship. If they already asked the caller, this accepts their request instead,
 * so crossing requests end in one friendship, never two pending requests.
 */
export async function sendFriendRequest(me: string, toUserId: string, message: string): Promise<SendResult> {
  if (toUserId === me)
    throw new InvalidRequestError('toUserId: cannot befriend yourself', { field: 'toUserId' });
  await limitPendingFriendRequests(me);
  const now = new Date().toISOString();
  const item: FriendRequestItem = {
    requestId: newId('fr'),
    fromUserId: me,
    toUserId,
    message,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  };
  for (let round = 0; round < 5; round++) {
    const result = await withRetry(() => createRequest(item));
    if (result.ok) {
      await notifyUsers([toUserId], { type: 'friendRequest', request: toRequest(item) });
      return { kind: 'created', request: toRequest(item) };
    }
    switch (result.reason) {
      case 'recipient_not_found':
        throw new NotFoundError('User not found', { missing: [toUserId] });
      case 'already_friends':
        throw new ConflictError('already_friends', 'You are already friends');
      case 'blocked':
        throw await blockedError(me, toUserId);
      case 'request_pending':
        throw new ConflictError('request_pending', 'A request to this user is already pending');
      case 'reverse_pending': {
        const theirs = await pendingRequestId(toUserId, me);
        // Gone between the two reads (cancelled or accepted): start over.
        if (!theirs) continue;
        try {
          return { kind: 'accepted', accepted: await acceptFriendRequest(me, theirs) };
        } catch (err) {
          if (err instanceof NotFoundError) continue;
          throw err;
        }
      }
    }
  }
  throw new ConflictError('request_pending', 'The pair changed too often; try again');
}

/** Accepts a request addressed to the caller; repeating it returns the same result. */
export async function acceptFriendRequest(me: string, requestId: string): Promise<Accepted> {
  const request = await getRequest(requestId);
  if (!request || (request.toUserId !== me && request.fromUserId !== me))
    throw new NotFoundError('Request not found');
  if (request.toUserId !== me) throw new ForbiddenError('Only the recipient can accept a request');
  const conversationId = directConversationId(request.fromUserId, request.toUserId);
  const accepted = async (): Promise<Accepted> => ({
    friend: await profileOf(request.fromUserId),
    conversationId,
  });

  if (request.status === 'accepted') return accepted();
  if (request.status !== 'pending') throw new NotFoundError('Request is no longer pending');

  const result = await withRetry(() => acceptRequest(request, conversationId, new Date().toISOString()));
  if (!result.ok) {
    switch (result.reason) {
      case 'not_pending': {
        // Someone else closed it first: an accept that won is our success too; a cancel or reject is not.
        const now = await getRequest(requestId);
        if (now?.status === 'accepted') return accepted();
        throw new NotFoundError('Request is no longer pending');
      }
      case 'already_friends':
        throw new ConflictError('already_friends', 'You are already friends');
      case 'user_inactive':
        throw new NotFoundError('User not found');
      case 'blocked':
        throw await blockedError(me, request.fromUserId);
    }
  }
  const [friend, mine] = await Promise.all([accepted(), profileOf(me)]);
  await notifyUsers([request.fromUserId], { type: 'friendAccepted', friend: mine, conversationId });
  await notifyUsers([me], { type: 'friendAccepted', friend: friend.friend, conversationId });
  return friend;
}

/**
 * 403 for a befriending step across a block. The blocker is told to unblock first; the blocked user
 * only that it is not possible, so a block is not announced to the person blocked.
 */
async function blockedError(me: string, other: string): Promise<ForbiddenError> {
  return (await getBlock(me, other))
    ? new ForbiddenError('You block this user; unblock them first')
    : new ForbiddenError('You cannot befriend this user');
}

/** Rejects (recipient) or cancels (sender) a pending request; repeating it is harmless. */
export async function closeFriendRequest(
  me: string,
  requestId: string,
  action: 'reject' | 'cancel',
): Promise<void> {
  const request = await getRequest(requestId);
  if (!request || (request.toUserId !== me && request.fromUserId !== me))
    throw new NotFoundError('Request not found');
  const allowed = action === 'reject' ? request.toUserId === me : request.fromUserId === me;
  if (!allowed)
    throw new ForbiddenError(`Only the ${action === 'reject' ? 'recipient' : 'sender'} can ${action} it`);
  const status = action === 'reject' ? 'rejected' : 'cancelled';
  if (request.status === status) return;
  if (request.status !== 'pending') throw new NotFoundError('Request is no longer pending');
  const closed = await withRetry(() => closeRequest(request, status, new Date().toISOString()));
  if (closed) return;
  const now = await getRequest(requestId);
  if (now?.status !== status) throw new NotFoundError('Request is no longer pending');
}

/** Pending requests to or from the caller, oldest first. */
export async function listFriendRequests(
  me: string,
  direction: 'incoming' | 'outgoing',
): Promise<FriendRequest[]> {
  const items = await listPendingRequests(me, direction);
  return items.map(toRequest).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export interface Friend {
  user: PublicProfile;
  conversationId: string;
  since: string;
  presence: Presence;
}

/** Oldest friendship first; the friend's id breaks ties. */
const bySince = {
  key: (f: { since: string; friendId: string }) => [f.since, f.friendId],
  descending: [false, false],
} as const;

/**
 * One page of the caller's friends with their direct conversations and presence, oldest friendship
 * first, read from base tables. Friends whose account is closing or gone are left out.
 */
export async function listFriends(me: string, query: PageQuery): Promise<Page<Friend>> {
  const rows = await listFriendships(me);
  const users = new Map((await getUsers(rows.map((r) => r.friendId))).map((u) => [u.userId, u]));
  const active = rows.filter((row) => users.get(row.friendId)?.status === 'active');
  const page = paginate(active, bySince, query);
  const presence = await presenceOf(page.items.map((row) => row.friendId));
  return {
    items: page.items.map((row) => ({
      user: toPublicProfile(users.get(row.friendId) as NonNullable<ReturnType<typeof users.get>>),
      conversationId: row.conversationId,
      since: row.since,
      presence: presence.get(row.friendId) ?? { status: 'offline', lastSeenAt: null },
    })),
    nextCursor: page.nextCursor,
  };
}

/** Ends a friendship both ways; the conversation keeps its history. */
export async function removeFriend(me: string, friendId: string): Promise<void> {
  const removed = await withRetry(() => removeFriendship(me, friendId));
  if (!removed) throw new NotFoundError('Not friends');
}

/** True when the two users are friends now (strongly consistent). */
export async function areFriends(a: string, b: string): Promise<boolean> {
  return (await getFriendship(a, b)) !== undefined;
}
