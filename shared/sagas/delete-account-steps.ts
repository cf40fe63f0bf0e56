import { deletePresence, listUserConnections } from '../data/connections-repo.js';
import { getConversation, listUserConversations } from '../data/conversations-repo.js';
import {
  closeRequest,
  getRequest,
  listFriendships,
  listPendingRequests,
  removeFriendship,
} from '../data/friends-repo.js';
import { removeGroupMember } from '../data/groups-repo.js';
import { setOperationStatus } from '../data/operations-repo.js';
import { getUser, markUserDeleting, releaseUsername, tombstoneUser } from '../data/users-repo.js';
import { removeMember } from '../domain/groups.js';
import { closeConnection, pushToConnections } from '../domain/push.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { emitSagaOutcome } from '../metrics.js';
import { withRetry } from '../retry.js';
import { applyActions } from '../search/bulk.js';
import { actionForItem } from '../search/documents.js';
import { describeError } from './create-group-steps.js';
import { BusinessError, TransientError } from './step-errors.js';

/*
 * DeleteAccount, step by step. `markDeleting` is the pivot: before it nothing has changed, so a failure
 * there simply fails the operation. Every step after it uses FORWARD RECOVERY, never compensation: the
 * user asked for the account to go, connections closed and friendships ended cannot be given back
 * faithfully, and each step is idempotent, so retrying (by the state machine, then by the reconciler
 * re-running the execution) always converges on a fully deleted account. Meanwhile the account is
 * `deleting`: login and every authorised request are refused at once.
 */

export interface DeleteAccountInput {
  operationId: string;
  userId: string;
  error?: { Error?: string; Cause?: string };
}

/** Pivot: the account refuses logins and requests from now on. */
export async function markDeleting({ userId }: DeleteAccountInput): Promise<void> {
  if (await markUserDeleting(userId, new Date().toISOString())) return;
  const user = await getUser(userId);
  // A re-run (by the reconciler) finds the account already deleting, or already tombstoned.
  if (user?.status === 'deleting' || user?.status === 'deleted') return;
  throw new BusinessError('no such account');
}

/** Ends every friendship, each pair atomically (both rows in one transaction). */
export async function removeFriendships({ userId }: DeleteAccountInput): Promise<void> {
  for (const f of await listFriendships(userId)) await withRetry(() => removeFriendship(userId, f.friendId));
}

/** Rejects requests to the user and cancels the user's own. */
export async function cancelRequests({ userId }: DeleteAccountInput): Promise<void> {
  const now = new Date().toISOString();
  for (const direction of ['incoming', 'outgoing'] as const) {
    for (const pending of await listPendingRequests(userId, direction)) {
      const request = await getRequest(pending.requestId);
      if (request?.status !== 'pending') continue;
      await withRetry(() => closeRequest(request, direction === 'incoming' ? 'rejected' : 'cancelled', now));
    }
  }
}

/** Leaves every conversation: groups hand ownership on; direct conversations keep the peer's history. */
export async function leaveConversations({ userId }: DeleteAccountInput): Promise<void> {
  for (const entry of await listUserConversations(userId)) {
    if (entry.type === 'group') {
      await removeMember(userId, entry.conversationId, userId).catch((err: unknown) => {
        // Already gone (a re-run): the membership or the conversation no longer exists.
        if (!(err instanceof NotFoundError || err instanceof ForbiddenError)) throw err;
      });
      continue;
    }
    await withRetry(async () => {
      const conversation = await getConversation(entry.conversationId);
      if (!conversation) return;
      const result = await removeGroupMember(conversation, userId, undefined);
      if (!result.ok && result.reason === 'stale') throw new TransientError('conversation changed meanwhile');
    });
  }
}

/**
 * Closes every open WebSocket of the user and forgets it, after a last `sessionEnded` frame
 * (`account_closed`) so clients stop reconnecting. The frame is best effort (never throws); a failed
 * close still fails the step for a retry.
 */
export async function closeConnections({ userId }: DeleteAccountInput): Promise<void> {
  const connections = await listUserConnections(userId);
  await pushToConnections(
    connections.map((c) => c.connectionId),
    { type: 'sessionEnded', reason: 'account_closed' },
  );
  for (const c of connections) await closeConnection(c.connectionId);
}

/** Removes the user's search document now, rather than waiting for the indexer. */
export async function removeSearchDocuments({ userId }: DeleteAccountInput): Promise<void> {
  const user = await getUser(userId);
  if (!user) return;
  const [outcome] = await applyActions([actionForItem('users', { ...user, status: 'deleting' })]);
  if (outcome?.status === 'failed') throw new TransientError(`search delete failed: ${outcome.reason}`);
}

/** Frees the username (only the guard that points at this user). */
export async function freeUsername({ userId }: DeleteAccountInput): Promise<void> {
  const user = await getUser(userId);
  // A tombstone has no username left: the guard was freed before it was written.
  if (!user?.username) return;
  await releaseUsername(user.username, userId); // false: someone else has it now
}

/**
 * Leaves a tombstone: no profile data, no username (it is free for someone else), no password or
 * token state, status `deleted`; and no stored presence (the sockets were closed steps earlier, so
 * their `$disconnect`s have written their last one).
 */
export async function tombstone({ userId }: DeleteAccountInput): Promise<void> {
  if (
    !(await tombstoneUser(userId, new Date().toISOString())) &&
    (await getUser(userId))?.status !== 'deleted'
  )
    throw new BusinessError('account is not being deleted');
  await deletePresence(userId);
}

export async function complete({ operationId }: DeleteAccountInput): Promise<void> {
  if (await setOperationStatus(operationId, 'succeeded', null, ['running', 'failed']))
    emitSagaOutcome('deleteAccount', 'succeeded');
}

/** The operation is `failed`; the account stays `deleting` and the reconciler resumes it. */
export async function recordFailure({ operationId, error }: DeleteAccountInput): Promise<void> {
  if (await setOperationStatus(operationId, 'failed', describeError(operationId, error), ['running']))
    emitSagaOutcome('deleteAccount', 'failed');
}
