import { type ConversationItem, getConversation, listMembers } from '../data/conversations-repo.js';
import {
  activateGroup,
  addMembersWhileCreating,
  createPendingGroup,
  markGroupFailed,
  removeMembersUnlessActive,
} from '../data/groups-repo.js';
import { setOperationStatus } from '../data/operations-repo.js';
import { toConversation } from '../domain/conversations.js';
import { describeSagaError } from '../domain/operation-errors.js';
import { pushToUsers } from '../domain/push.js';
import { emitSagaOutcome } from '../metrics.js';
import { BusinessError, TransientError } from './step-errors.js';

/** What the CreateGroup state machine carries from step to step. */
export interface CreateGroupInput {
  operationId: string;
  conversationId: string;
  ownerId: string;
  name: string;
  /** Every member, the owner first, split into chunks that each fit one transaction. */
  chunks: string[][];
  createdAt: string;
  error?: { Error?: string; Cause?: string };
}

/**
 * Step 1: the conversation, in state `creating` (invisible to members, refusing messages). Re-running it
 * for the same operation is a no-op.
 */
export async function createConversation(input: CreateGroupInput): Promise<void> {
  const item: ConversationItem & { operationId: string } = {
    conversationId: input.conversationId,
    type: 'group',
    name: input.name,
    ownerId: input.ownerId,
    memberCount: 0,
    lastSeq: 0,
    status: 'creating',
    createdAt: input.createdAt,
    lastActivityAt: input.createdAt,
    version: 1,
    operationId: input.operationId,
  };
  if (!(await createPendingGroup(item))) throw new BusinessError('conversation id already in use');
}

/**
 * Step 2 (once per chunk): the chunk's memberships and list entries in one transaction, conditioned on
 * the group still being `creating`. Puts are idempotent, so a retried chunk does no second work.
 */
export async function addChunk(
  input: Pick<CreateGroupInput, 'conversationId' | 'ownerId' | 'createdAt'> & { userIds: string[] },
) {
  const result = await addMembersWhileCreating(input);
  if (result.ok) return;
  if (result.reason === 'retry') throw new TransientError('chunk lost a race');
  throw new BusinessError('the group is no longer being created');
}

/** Step 3: counts the members and opens the group; from here on the saga only moves forward. */
export async function activate(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  const count = (await listMembers(input.conversationId)).length;
  if (!(await activateGroup(input.conversationId, count)))
    throw new BusinessError('the group was failed meanwhile');
}

/** Step 4: tells every member (best effort; clients also see it in their list). */
export async function notify(
  input: Pick<CreateGroupInput, 'conversationId' | 'chunks' | 'name'>,
): Promise<void> {
  const conversation = await getConversation(input.conversationId);
  if (!conversation) return;
  const view = toConversation(conversation, { lastReadSeq: 0 });
  const members = input.chunks.flat();
  for (let i = 0; i < members.length; i += 100) {
    await pushToUsers(members.slice(i, i + 100), { type: 'conversationCreated', conversation: view });
  }
}

/** Step 5: the operation succeeded. */
export async function complete(input: Pick<CreateGroupInput, 'operationId'>): Promise<void> {
  if (await setOperationStatus(input.operationId, 'succeeded', null, ['running']))
    emitSagaOutcome('createGroup', 'succeeded');
}

/**
 * Compensation 2: removes every membership and list entry added so far, in transactions that each
 * re-check the group is not active, so an opened group is never stripped. Idempotent.
 */
export async function removeMembers(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  const result = await removeMembersUnlessActive(input.conversationId);
  if (result.ok) return;
  if (result.reason === 'retry') throw new TransientError('compensation lost a race');
  throw new BusinessError('the group is active; it is not undone');
}

/**
 * Compensation 1: marks the group `failed` first, so that no chunk still in flight can add members
 * after the clean-up (every chunk is conditioned on `creating`); an active group is never failed.
 */
export async function failGroup(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  if (await markGroupFailed(input.conversationId)) return;
  const current = await getConversation(input.conversationId);
  if (current?.status === 'active') throw new BusinessError('the group is active; it is not undone');
  // No conversation was ever created: nothing to mark, nothing can be added.
}

/** Compensation 3: the operation is compensated, with the error that caused it. */
export async function markCompensated(input: Pick<CreateGroupInput, 'operationId' | 'error'>): Promise<void> {
  const changed = await setOperationStatus(
    input.operationId,
    'compensated',
    describeError(input.operationId, input.error),
    ['running', 'failed'],
  );
  if (changed) emitSagaOutcome('createGroup', 'compensated');
}

/** Last resort: the operation is `failed` and stays for the reconciler to finish or undo. */
export async function recordFailure(input: Pick<CreateGroupInput, 'operationId' | 'error'>): Promise<void> {
  if (
    await setOperationStatus(input.operationId, 'failed', describeError(input.operationId, input.error), [
      'running',
    ])
  )
    emitSagaOutcome('createGroup', 'failed');
}

/** The operation's public `error` for a saga failure (a stable code; the raw cause is only logged). */
export function describeError(operationId: string, error: CreateGroupInput['error']): string {
  return describeSagaError(operationId, error);
}
