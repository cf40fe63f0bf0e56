import { config } from '../config/env.js';
import { countPendingRequests, listFriendships } from '../data/friends-repo.js';
import { spendQuota } from '../data/quotas-repo.js';
import { takeToken } from '../data/rate-limits-repo.js';
import { ThrottledError } from '../errors.js';

/**
 * Refuses a new friend request when the sender already has as many pending outgoing requests as the
 * limit allows (429 `throttled`; cancelling requests or getting answers makes room). Concurrent
 * requests of one sender may pass the count together, so the bound holds within their number.
 */
export async function limitPendingFriendRequests(me: string): Promise<void> {
  const max = config().abuseLimits.pendingFriendRequests;
  if ((await countPendingRequests(me, 'outgoing')) >= max) {
    throw new ThrottledError(
      60_000,
      `At most ${max} pending friend requests; cancel some or wait for answers`,
    );
  }
}

/** Groups one user may create: a bucket of `groupsCreated` (20 per hour by default). */
export async function limitGroupCreation(me: string): Promise<void> {
  const result = await takeToken(`groups#${me}`, config().abuseLimits.groupsCreated);
  if (!result.allowed) throw new ThrottledError(result.retryAfterMs, 'Creating groups too fast, retry later');
}

/**
 * WebSocket connects one user may make: a bucket of `connects` (bursts of 20, then 1/s by default),
 * taken before `$connect` writes anything. A refusal this container can already be sure of costs no
 * request (the rate-limit repository remembers the bucket), so a loop of connects costs the table one
 * write per refill, not one per attempt. Throws ThrottledError (429) with `retryAfterMs`.
 */
export async function limitConnects(userId: string): Promise<void> {
  const result = await takeToken(`connect#${userId}`, config().abuseLimits.connects);
  if (!result.allowed) throw new ThrottledError(result.retryAfterMs, 'Connecting too often, retry later');
}

/**
 * Adding people to a group needs no consent from friends; everyone else counts against the inviter's
 * hourly quota of non-friend invitations, so no one can put strangers into hundreds of groups.
 */
export async function limitNonFriendInvites(me: string, invitees: readonly string[]): Promise<void> {
  if (invitees.length === 0) return;
  const friends = new Set((await listFriendships(me)).map((f) => f.friendId));
  const strangers = invitees.filter((id) => id !== me && !friends.has(id)).length;
  const limit = config().abuseLimits.nonFriendInvitesPerHour;
  const spent = await spendQuota(`invites#${me}`, strangers, limit, 3600);
  if (!spent.ok) {
    throw new ThrottledError(
      spent.retryAfterMs,
      `At most ${limit} people who are not your friends may be added to groups per hour`,
    );
  }
}
