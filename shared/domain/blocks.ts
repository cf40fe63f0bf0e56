import { blockedEitherWay, deleteBlock, getBlock, listBlocks, putBlock } from '../data/blocks-repo.js';
import { getRequest, pendingRequestId } from '../data/friends-repo.js';
import { getUsers } from '../data/users-repo.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import type { PageQuery } from '../protocol/requests.js';
import { withRetry } from '../retry.js';
import { type Page, paginate } from './pagination.js';
import { type PublicProfile, toPublicProfile } from './users.js';

/** One entry of `GET /blocks`: the blocked user and since when. */
export interface Block {
  user: PublicProfile;
  since: string;
}

/**
 * Blocks `userId`: in one transaction the block is stored, a friendship between the two ends both
 * ways (as `DELETE /friends/{id}`), and pending requests between them are cancelled. From then on
 * neither can befriend the other, the blocked user's sends into the direct conversation are refused
 * with `not_friends` (the ordered writer checks the friendship), and neither sees the other's presence
 * or typing. Blocking someone already blocked is a success (nothing changes).
 * @throws InvalidRequestError (yourself), NotFoundError (no such active user)
 */
export async function blockUser(me: string, userId: string): Promise<void> {
  if (userId === me) throw new InvalidRequestError('userId: cannot block yourself', { field: 'userId' });
  for (let round = 0; round < 5; round++) {
    // Pending requests either way are closed in the same transaction, each on the condition that it is
    // still pending as read here; a request that changed meanwhile makes the whole block retry.
    const ids = (await Promise.all([pendingRequestId(me, userId), pendingRequestId(userId, me)])).filter(
      (id): id is string => id !== undefined,
    );
    const pending = (await Promise.all(ids.map((id) => getRequest(id)))).filter(
      (r) => r?.status === 'pending',
    ) as NonNullable<Awaited<ReturnType<typeof getRequest>>>[];
    const result = await withRetry(() =>
      putBlock({ userId: me, blockedId: userId, createdAt: new Date().toISOString() }, pending),
    );
    if (result.ok || result.reason === 'already_blocked') return;
    if (result.reason === 'user_not_found') throw new NotFoundError('User not found');
  }
  throw new Error('blockUser: pending requests kept changing');
}

/** Lifts a block. The two are not friends again; either may send a friend request. */
export async function unblockUser(me: string, userId: string): Promise<void> {
  if (!(await withRetry(() => deleteBlock(me, userId)))) throw new NotFoundError('This user is not blocked');
}

/** Most recent block first; the user's id breaks ties. */
const byNewest = {
  key: (b: { createdAt: string; blockedId: string }) => [b.createdAt, b.blockedId],
  descending: [true, false],
} as const;

/** One page of the users the caller blocks, most recent first (closed accounts left out). */
export async function listBlockedUsers(me: string, query: PageQuery): Promise<Page<Block>> {
  const rows = await listBlocks(me);
  const users = new Map((await getUsers(rows.map((r) => r.blockedId))).map((u) => [u.userId, u]));
  const active = rows.filter((row) => users.get(row.blockedId)?.status === 'active');
  const page = paginate(active, byNewest, query);
  return {
    items: page.items.map((row) => ({
      user: toPublicProfile(users.get(row.blockedId) as NonNullable<ReturnType<typeof users.get>>),
      since: row.createdAt,
    })),
    nextCursor: page.nextCursor,
  };
}

/** Which of `others` are on either side of a block with `me`. */
export const blockedAmong = blockedEitherWay;

/** True when `a` blocks `b`. */
export async function blocks(a: string, b: string): Promise<boolean> {
  return (await getBlock(a, b)) !== undefined;
}
