import {
  type ConversationItem,
  getConversation,
  getMember,
  type MemberItem,
} from '../data/conversations-repo.js';
import {
  type ChangeOutcome,
  commitMessageChange,
  getLastChangeSeq,
  getMessagesBySeq,
  hasReaction,
  listChangeRows,
  type MessageChange,
} from '../data/message-changes-repo.js';
import { getMessage, type MessageItem } from '../data/messages-repo.js';
import { ForbiddenError, InvalidRequestError, NotFoundError } from '../errors.js';
import { RetryableError, type RetryPolicy, withRetry } from '../retry.js';
import { requireMember, VISIBLE } from './membership.js';
import { forReader } from './message-views.js';
import { type Message, memberIdsOf, toMessage } from './messages.js';
import { notifyUsers } from './push.js';

/**
 * Retries of a change that lost the race for the conversation's change counter. Every change of a
 * conversation takes the next number, so N simultaneous changes commit one after another: backoff with
 * full jitter spreads them; 50 users reacting at once need up to 50 rounds.
 */
export const CHANGE_RETRY: RetryPolicy = {
  attempts: 200,
  // A lost race is over once the winner committed (one transaction): short jittered waits keep the
  // counter busy without a herd; long backoffs would leave it idle between turns.
  baseDelayMs: 5,
  maxDelayMs: 60,
  maxElapsedMs: 20_000,
};

/** At most this many different emoji on one message (bounds the item; DynamoDB items are ≤ 400 KB). */
export const MAX_DISTINCT_REACTIONS = 50;

/** Where a change comes from: the WebSocket connection that asked is answered, not sent the event. */
export interface ChangeContext {
  me: string;
  conversationId: string;
  seq: number;
  originConnectionId?: string;
}

interface Read {
  conversation: ConversationItem;
  member: MemberItem;
  message: MessageItem;
  lastChangeSeq: number;
  /** reactions only: whether the caller has this emoji on the message. */
  hasReaction: boolean;
}

/** A decision from what was read: commit this change, or nothing to do (answer with the message). */
type Plan = { change: Omit<MessageChange, 'before' | 'lastChangeSeq' | 'actorId'> } | { unchanged: true };

/**
 * Reads what a change depends on, lets `decide` plan it, commits, and retries from a fresh read when
 * anything moved meanwhile. Returns the message after the change (or as it was, when nothing changed).
 */
async function changeMessage(
  ctx: ChangeContext,
  decide: (read: Read) => Plan,
  reactionEmoji?: string,
): Promise<{ before: MessageItem; after: MessageItem; changed: boolean; conversation: ConversationItem }> {
  return withRetry(async () => {
    // One round trip: each retry is a turn in the race for the change counter, so it is kept short.
    const [conversation, member, message, lastChangeSeq, hasOwnReaction] = await Promise.all([
      getConversation(ctx.conversationId),
      getMember(ctx.conversationId, ctx.me),
      getMessage(ctx.conversationId, ctx.seq),
      getLastChangeSeq(ctx.conversationId),
      reactionEmoji === undefined ? false : hasReaction(ctx.conversationId, ctx.me, ctx.seq, reactionEmoji),
    ]);
    if (!conversation || !VISIBLE.has(conversation.status)) throw new NotFoundError('Conversation not found');
    if (!member) throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
    if (!message) throw new NotFoundError(`No message at seq ${ctx.seq} in this conversation`);
    const plan = decide({ conversation, member, message, lastChangeSeq, hasReaction: hasOwnReaction });
    if ('unchanged' in plan) return { before: message, after: message, changed: false, conversation };
    const change: MessageChange = { ...plan.change, actorId: ctx.me, before: message, lastChangeSeq };
    const outcome = await commitMessageChange(change);
    if (outcome !== 'committed') throw refusal(outcome);
    const after: MessageItem = { ...message, ...change.set, changeSeq: lastChangeSeq + 1 };
    for (const name of change.remove ?? []) delete (after as unknown as Record<string, unknown>)[name];
    return { before: message, after, changed: true, conversation };
  }, CHANGE_RETRY);
}

function refusal(outcome: Exclude<ChangeOutcome, 'committed'>): Error {
  switch (outcome) {
    case 'stale':
      return new RetryableError('the message or its conversation changed under the change');
    case 'not_a_member':
      return new ForbiddenError('Not a member of this conversation', 'not_a_member');
    case 'not_friends':
      return new ForbiddenError('You are no longer friends; this conversation is read-only', 'not_friends');
    case 'not_owner':
      return new ForbiddenError("Only the sender or the group's owner can delete this message");
  }
}

/** Edits and reactions need a conversation that takes messages (active; direct: still friends). */
function requireWritable(c: ConversationItem, me: string): { peerId?: string } {
  if (c.status !== 'active') throw new ForbiddenError(`Conversation is ${c.status}`);
  const peerId = c.type === 'direct' ? c.memberIds?.find((id) => id !== me) : undefined;
  return peerId ? { peerId } : {};
}

function requireNotDeleted(m: MessageItem): void {
  if (m.deletedAt) throw new NotFoundError(`The message at seq ${m.seq} was deleted`);
}

/** The last-message summary after a change of that message (undefined when it is not the last). */
function summaryAfter(c: ConversationItem, seq: number, fields: Record<string, unknown>) {
  const last = c.lastMessage;
  if (!last || last.seq !== seq) return undefined;
  const { editedAt: _e, ...rest } = last;
  return { ...rest, ...fields };
}

/** Members' connections but the asking one get the event; a failed push is only logged. */
async function tell(c: ConversationItem, ctx: ChangeContext, event: Record<string, unknown>): Promise<void> {
  await notifyUsers(await memberIdsOf(c), event, ctx.originConnectionId);
}

/**
 * Edits a message: the sender only, while a member (and, in a direct conversation, a friend). Keeps the
 * seq, sets the text and `editedAt`, bumps `version` (the search document follows it), and updates the
 * last-message summary when it is the last message. The same text again changes nothing.
 * 404 for an unknown or deleted message, 403 for anyone else.
 */
export async function editMessage(ctx: ChangeContext, text: string): Promise<Message> {
  const result = await changeMessage(ctx, ({ conversation, message }) => {
    requireNotDeleted(message);
    if (message.senderId !== ctx.me) throw new ForbiddenError('Only the sender can edit a message');
    const writable = requireWritable(conversation, ctx.me);
    if (message.text === text) return { unchanged: true };
    const editedAt = new Date().toISOString();
    const version = (message.version ?? 1) + 1;
    const summary = summaryAfter(conversation, message.seq, { text: text.slice(0, 200), editedAt, version });
    return { change: { set: { text, editedAt, version }, ...writable, ...(summary ? { summary } : {}) } };
  });
  const [message] = await forReader(ctx.me, ctx.conversationId, [result.after]);
  if (result.changed) {
    await tell(result.conversation, ctx, { type: 'messageEdited', message: toMessage(result.after) });
  }
  return message as Message;
}

/**
 * Deletes a message: the sender (a member), or the owner of a group. The seq stays as a tombstone:
 * `deletedAt` set, the text emptied (also in the last-message summary), reactions and the reply link
 * dropped, `version` bumped so that the search document is removed above its last version. Unread
 * counts do not move: the seq still counts. Deleting a deleted message changes nothing.
 */
export async function deleteMessage(ctx: ChangeContext): Promise<void> {
  const result = await changeMessage(ctx, ({ conversation, member, message }) => {
    if (message.deletedAt) return { unchanged: true };
    const asOwner = message.senderId !== ctx.me;
    if (asOwner && !(conversation.type === 'group' && member.role === 'owner')) {
      throw new ForbiddenError("Only the sender or the group's owner can delete this message");
    }
    const deletedAt = new Date().toISOString();
    const version = (message.version ?? 1) + 1;
    const summary = summaryAfter(conversation, message.seq, { text: '', deletedAt, version });
    return {
      change: {
        set: { text: '', deletedAt, version },
        remove: ['reactions', 'replyTo', 'editedAt'],
        asOwner,
        ...(summary ? { summary } : {}),
      },
    };
  });
  if (!result.changed) return;
  const { after } = result;
  await tell(result.conversation, ctx, {
    type: 'messageDeleted',
    conversationId: after.conversationId,
    seq: after.seq,
    messageId: after.messageId,
    deletedAt: after.deletedAt,
    version: after.version,
    changeSeq: after.changeSeq,
  });
}

/**
 * Adds (`add`) or removes (`remove`) the caller's reaction: one of each emoji per user per message.
 * Adding one the caller already has, or removing one it has not, changes nothing. The counts live on the
 * message and move in the same transaction as the caller's reaction item, under the change counter, so
 * simultaneous reactions never lose a count. A `reaction` event tells the members.
 */
export async function react(ctx: ChangeContext, emoji: string, op: 'add' | 'remove'): Promise<Message> {
  const result = await changeMessage(
    ctx,
    ({ conversation, message, hasReaction: has }) => {
      requireNotDeleted(message);
      const writable = requireWritable(conversation, ctx.me);
      // The transaction's condition on the reaction item keeps `has` true until the commit.
      if ((op === 'add') === has) return { unchanged: true };
      const counts = { ...(message.reactions ?? {}) };
      const count = (counts[emoji] ?? 0) + (op === 'add' ? 1 : -1);
      if (count > 0) counts[emoji] = count;
      else delete counts[emoji];
      if (Object.keys(counts).length > MAX_DISTINCT_REACTIONS) {
        throw new InvalidRequestError(
          `emoji: a message holds at most ${MAX_DISTINCT_REACTIONS} different reactions`,
          { field: 'emoji' },
        );
      }
      // The whole map is written: the message's changeSeq condition keeps the read it came from current.
      const change = Object.keys(counts).length
        ? { set: { reactions: counts } }
        : { set: {}, remove: ['reactions'] };
      return { change: { ...change, ...writable, reaction: { op, emoji } } };
    },
    emoji,
  );
  const [message] = await forReader(ctx.me, ctx.conversationId, [result.after]);
  if (result.changed) {
    await tell(result.conversation, ctx, {
      type: 'reaction',
      conversationId: ctx.conversationId,
      seq: ctx.seq,
      userId: ctx.me,
      emoji,
      op,
      reactions: result.after.reactions ?? {},
      changeSeq: result.after.changeSeq,
    });
  }
  return message as Message;
}

/** A page of changes: changed messages in change order, and the token to ask from next. */
export interface ChangesPage {
  items: Message[];
  /** Pass as `afterChangeSeq` next time. */
  changeSeq: number;
  hasMore: boolean;
}

/**
 * The messages edited, deleted or reacted to after change number `afterChangeSeq`, each once, as they
 * are now, in the order of their latest change; members only. A change committed after this call is
 * above the returned `changeSeq`, so asking again from it never misses one.
 */
export async function listChanges(
  me: string,
  conversationId: string,
  afterChangeSeq: number,
  limit: number,
): Promise<ChangesPage> {
  const [, head] = await Promise.all([requireMember(conversationId, me), getLastChangeSeq(conversationId)]);
  return changesAfter(me, conversationId, afterChangeSeq, limit, head);
}

/** `listChanges` once membership is known; `head` is the change number read before the rows. */
export async function changesAfter(
  me: string,
  conversationId: string,
  afterChangeSeq: number,
  limit: number,
  head: number,
): Promise<ChangesPage> {
  const { rows, hasMore } = await listChangeRows(conversationId, afterChangeSeq, limit);
  const messages = await getMessagesBySeq(
    conversationId,
    rows.map((r) => r.seq),
  );
  const items = rows.flatMap((r) => {
    const m = messages.get(r.seq);
    return m ? [m] : [];
  });
  const lastRow = rows[rows.length - 1]?.changeSeq;
  // The rows were read after the head: with no more pages, everything up to both is covered.
  const changeSeq = hasMore ? (lastRow as number) : Math.max(head, lastRow ?? 0);
  return { items: await forReader(me, conversationId, items), changeSeq, hasMore };
}
