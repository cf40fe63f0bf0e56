import { config } from '../config/env.js';
import { blockedEitherWay } from '../data/blocks-repo.js';
import {
  type PresenceStatus,
  readPresence,
  reconcilePresence,
  renewPresenceLease,
} from '../data/connections-repo.js';
import { listUserConversations } from '../data/conversations-repo.js';
import { getFriendship, listFriendships } from '../data/friends-repo.js';
import { logger } from '../logger.js';
import { notifyUsers } from './push.js';

/**
 * The contract's `Presence`: `online` while the user has an open connection that showed life within
 * the presence timeout; otherwise `offline` with when they were last online (null if never).
 */
export interface Presence {
  status: PresenceStatus;
  lastSeenAt: string | null;
}

/**
 * Reconciles a user's stored presence after a connect, a disconnect or a renewed lease, and pushes
 * each change it made to the user's friends as `presence {userId, status, lastSeenAt, version}`. Only
 * the first connection opened and the last one closed change it, so a user with many connections
 * causes no event per connection. Best effort: a failure is logged; the next change repairs it and
 * reads never depend on it.
 */
export async function presenceChanged(userId: string, seenAt?: string): Promise<void> {
  try {
    const changes = await reconcilePresence(userId, { seenAt });
    if (changes.length === 0) return;
    const friends = (await listFriendships(userId)).map((f) => f.friendId);
    for (const change of changes) await notifyUsers(friends, { type: 'presence', userId, ...change });
  } catch (error) {
    logger.warn('presence update failed', { userId, error: error as Error });
  }
}

/** When this container last renewed each connection's lease (ms), so most frames write nothing. */
const renewedAt = new Map<string, number>();

/**
 * Renews the presence lease of the connection a frame came from, at most once per quarter of the
 * presence timeout per container (the lease then never lapses for a client that sends a frame at
 * least every `timeout × 3/4`; the SDK pings every 5 minutes). A lease that had lapsed reconciles
 * presence, so the user comes back online.
 */
export async function renewPresence(connectionId: string): Promise<void> {
  const last = renewedAt.get(connectionId);
  const now = Date.now();
  if (last !== undefined && now - last < (config().connections.presenceTimeoutSeconds * 1000) / 4) return;
  if (renewedAt.size >= 10_000) renewedAt.clear();
  renewedAt.set(connectionId, now);
  try {
    const renewed = await renewPresenceLease(connectionId);
    if (renewed?.wasExpired) await presenceChanged(renewed.userId);
  } catch (error) {
    renewedAt.delete(connectionId);
    logger.warn('presence lease renewal failed', { connectionId, error: error as Error });
  }
}

/** Presence of many users, as the viewer may see it (callers check who may see it). */
export async function presenceOf(userIds: readonly string[]): Promise<Map<string, Presence>> {
  const read = await readPresence(userIds);
  return new Map([...read].map(([id, p]) => [id, { status: p.status, lastSeenAt: p.lastSeenAt }]));
}

/**
 * Whether `viewer` may see `userId`'s presence: a friend, or a member of a group they both belong
 * to, and no block between them either way. A direct conversation alone does not count:
 * it outlives the friendship.
 */
export async function maySeePresence(viewer: string, userId: string): Promise<boolean> {
  // Not shown on your own profile: clients know whether they are connected.
  if (viewer === userId) return false;
  if (await getFriendship(viewer, userId)) return true;
  const [mine, theirs] = await Promise.all([listUserConversations(viewer), listUserConversations(userId)]);
  const myGroups = new Set(mine.filter((c) => c.type === 'group').map((c) => c.conversationId));
  if (!theirs.some((c) => c.type === 'group' && myGroups.has(c.conversationId))) return false;
  return (await blockedEitherWay(viewer, [userId])).size === 0;
}
