import { type ConversationItem, getConversation, getMember } from '../data/conversations-repo.js';
import { getFriendship } from '../data/friends-repo.js';
import { ForbiddenError, NotFoundError } from '../errors.js';

/** Conversation states members can see. */
export const VISIBLE = new Set(['active', 'closed']);

/**
 * The conversation, if the user is a member now (membership row, strongly consistent); 404 when it
 * does not exist, 403 `not_a_member` otherwise, so an outsider learns nothing of its content.
 */
export async function requireMember(conversationId: string, userId: string): Promise<ConversationItem> {
  const [conversation, member] = await Promise.all([
    getConversation(conversationId),
    getMember(conversationId, userId),
  ]);
  if (!conversation) throw new NotFoundError('Conversation not found');
  if (!member) throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  // A group still being built (or whose build was undone) is invisible, even to its members.
  if (!VISIBLE.has(conversation.status)) throw new NotFoundError('Conversation not found');
  return conversation;
}

/**
 * The conversation, if the user may write to it now: a member, and in a direct conversation still a
 * friend of the other person (403 `not_friends` otherwise), the permission the ordered writer checks
 * for a send. Typing and read receipts follow it, so nothing crosses a direct conversation that a send
 * could not cross (blocking ends the friendship, so it ends these too).
 */
export async function requireWriter(conversationId: string, userId: string): Promise<ConversationItem> {
  const conversation = await requireMember(conversationId, userId);
  if (conversation.type !== 'direct') return conversation;
  const peerId = (conversation.memberIds ?? []).find((id) => id !== userId);
  if (!peerId || !(await getFriendship(userId, peerId)))
    throw new ForbiddenError('You are no longer friends; this conversation is read-only', 'not_friends');
  return conversation;
}
