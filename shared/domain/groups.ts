import {
  type ConversationItem,
  getUserConversation,
  listMembers,
  type MemberItem,
} from '../data/conversations-repo.js';
import {
  addGroupMembers,
  CREATE_GROUP_CHUNK,
  createGroupAtomically,
  MAX_GROUP_MEMBERS_IN_ONE_TRANSACTION,
  removeGroupMember,
} from '../data/groups-repo.js';
import { getUsers } from '../data/users-repo.js';
import { ConflictError, ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.js';
import { RetryableError, withRetry } from '../retry.js';
import { type Conversation, toConversation } from './conversations.js';
import { newId } from './ids.js';
import { requireMember } from './membership.js';
import { type Operation, startOperation } from './operations.js';
import { notifyUsers } from './push.js';
import { limitGroupCreation, limitNonFriendInvites } from './spam-limits.js';

/** Other members a group may have (the contract's bound); beyond one transaction it needs a saga. */
export const MAX_GROUP_OTHER_MEMBERS = 1000;

export interface Member {
  userId: string;
  role: MemberItem['role'];
  joinedAt: string;
}

async function requireExistingUsers(userIds: readonly string[]): Promise<void> {
  const found = new Set((await getUsers(userIds)).filter((u) => u.status === 'active').map((u) => u.userId));
  const missing = userIds.filter((id) => !found.has(id));
  if (missing.length) throw new NotFoundError(`Unknown users: ${missing.join(', ')}`, { missing });
}

export type CreateGroupResult =
  | { kind: 'created'; conversation: Conversation }
  | { kind: 'started'; conversation: Conversation; operation: Operation };

/**
 * Creates a group with the caller as owner. Up to one transaction's worth of members, atomically in one
 * transaction; beyond that, as a CreateGroup saga: the answer is the group (`creating`) and its operation.
 */
export async function createGroup(
  me: string,
  name: string,
  memberIds: readonly string[],
): Promise<CreateGroupResult> {
  const others = [...new Set(memberIds)].filter((id) => id !== me);
  if (others.length > MAX_GROUP_OTHER_MEMBERS) {
    throw new InvalidRequestError(`memberIds: at most ${MAX_GROUP_OTHER_MEMBERS} other members`, {
      field: 'memberIds',
    });
  }
  await requireExistingUsers(others);
  await limitGroupCreation(me);
  await limitNonFriendInvites(me, others);
  const now = new Date().toISOString();
  const conversation: ConversationItem = {
    conversationId: newId('g'),
    type: 'group',
    name,
    ownerId: me,
    memberCount: others.length + 1,
    lastSeq: 0,
    status: 'active',
    createdAt: now,
    lastActivityAt: now,
    version: 1,
  };
  if (others.length + 1 > MAX_GROUP_MEMBERS_IN_ONE_TRANSACTION) {
    const all = [me, ...others];
    const chunks: string[][] = [];
    for (let i = 0; i < all.length; i += CREATE_GROUP_CHUNK)
      chunks.push(all.slice(i, i + CREATE_GROUP_CHUNK));
    const operation = await startOperation({
      operationId: newId('op'),
      type: 'createGroup',
      userId: me,
      input: { conversationId: conversation.conversationId, ownerId: me, name, chunks, createdAt: now },
      createdAt: now,
    });
    return {
      kind: 'started',
      operation,
      conversation: toConversation({ ...conversation, status: 'creating' }, { lastReadSeq: 0 }),
    };
  }
  const members: MemberItem[] = [me, ...others].map((userId) => ({
    conversationId: conversation.conversationId,
    userId,
    role: userId === me ? 'owner' : 'member',
    joinedAt: now,
  }));
  await createGroupAtomically(conversation, members);
  const view = toConversation(conversation, { lastReadSeq: 0 });
  await notifyUsers([me, ...others], { type: 'conversationCreated', conversation: view });
  return { kind: 'created', conversation: view };
}

/** A conversation with its members, for members only. */
export async function getConversationDetails(me: string, conversationId: string) {
  const conversation = await requireMember(conversationId, me);
  const [members, entry] = await Promise.all([
    listMembers(conversationId),
    getUserConversation(me, conversationId),
  ]);
  return {
    ...toConversation(conversation, entry),
    ...(conversation.ownerId ? { ownerId: conversation.ownerId } : {}),
    members: members.map(({ userId, role, joinedAt }) => ({ userId, role, joinedAt })),
  };
}

async function requireOwnedGroup(me: string, conversationId: string): Promise<ConversationItem> {
  const conversation = await requireMember(conversationId, me);
  if (conversation.type !== 'group') throw new ForbiddenError('Direct conversations have fixed members');
  if (conversation.ownerId !== me) throw new ForbiddenError('Only the owner can do this');
  return conversation;
}

/** The owner adds members; existing members are skipped, so repeating it is harmless. */
export async function addMembers(
  me: string,
  conversationId: string,
  userIds: readonly string[],
): Promise<Conversation> {
  const wanted = [...new Set(userIds)];
  if (wanted.length * 2 + 1 > 100) {
    throw new InvalidRequestError(`userIds: at most ${MAX_GROUP_MEMBERS_IN_ONE_TRANSACTION} at a time`, {
      field: 'userIds',
    });
  }
  await requireExistingUsers(wanted);
  await limitNonFriendInvites(me, wanted);
  let added: string[] = [];
  const conversation = await withRetry(async () => {
    const current = await requireOwnedGroup(me, conversationId);
    const existing = new Set((await listMembers(conversationId)).map((m) => m.userId));
    added = wanted.filter((id) => !existing.has(id));
    if (current.memberCount + added.length > MAX_GROUP_OTHER_MEMBERS + 1) {
      throw new InvalidRequestError(`userIds: a group has at most ${MAX_GROUP_OTHER_MEMBERS + 1} members`);
    }
    if (added.length === 0) return current;
    const now = new Date().toISOString();
    const members: MemberItem[] = added.map((userId) => ({
      conversationId,
      userId,
      role: 'member',
      joinedAt: now,
    }));
    const result = await addGroupMembers(current, members);
    if (!result.ok) throw new RetryableError(`membership changed meanwhile (${result.reason})`);
    return { ...current, memberCount: current.memberCount + added.length, version: current.version + 1 };
  });
  if (added.length) {
    const all = (await listMembers(conversationId)).map((m) => m.userId);
    const view = toConversation(conversation, { lastReadSeq: 0 });
    await notifyUsers(added, { type: 'conversationCreated', conversation: view });
    for (const userId of added) await notifyUsers(all, { type: 'memberJoined', conversationId, userId });
  }
  return toConversation(conversation, undefined);
}

/** A member leaves, or the owner removes someone; an owner who leaves hands the group on. */
export async function removeMember(me: string, conversationId: string, userId: string): Promise<void> {
  let remaining: string[] = [];
  await withRetry(async () => {
    const current = await requireMember(conversationId, me);
    if (current.type !== 'group') throw new ForbiddenError('Direct conversations have fixed members');
    if (userId !== me && current.ownerId !== me)
      throw new ForbiddenError('Only the owner can remove members');
    const members = await listMembers(conversationId);
    if (!members.some((m) => m.userId === userId)) throw new NotFoundError('Not a member');
    remaining = members.filter((m) => m.userId !== userId).map((m) => m.userId);
    const heir =
      current.ownerId === userId
        ? members.filter((m) => m.userId !== userId).sort((a, b) => a.joinedAt.localeCompare(b.joinedAt))[0]
            ?.userId
        : undefined;
    const result = await removeGroupMember(current, userId, heir);
    if (result.ok) return;
    if (result.reason === 'not_member')
      throw new ConflictError('version_conflict', 'Membership changed meanwhile');
    throw new RetryableError('membership changed meanwhile');
  });
  await notifyUsers([...remaining, userId], { type: 'memberLeft', conversationId, userId });
}
