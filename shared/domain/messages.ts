import { type ConversationItem, getConversation, listMembers } from '../data/conversations-repo.js';
import {
  appendMessage,
  type ConversationSnapshot,
  findByClientMessageId,
  listMessages,
  type MessageItem,
  markRead as storeReadPosition,
} from '../data/messages-repo.js';
import { ForbiddenError, NotFoundError, UnavailableError } from '../errors.js';
import { logger } from '../logger.js';
import { RetryableError, withRetry } from '../retry.js';
import { newId } from './ids.js';
import { requireMember } from './membership.js';
import { notifyUsers, pushToUsers } from './push.js';

/** Conversations above this size are fanned out from the stream, so the sender never waits for them. */
export const INLINE_FANOUT_MAX_MEMBERS = 100;
/** Bound on send attempts under contention before answering 503 (nothing written). */
export const SEND_RETRY = { attempts: 1000, baseDelayMs: 2, maxDelayMs: 100, maxElapsedMs: 20_000 } as const;
/** Process-wide counters, read by the benchmarks: transaction attempts and how many lost a race. */
export const sendCounters = { attempts: 0, staleRetries: 0 };

/** The contract's `Message`. */
export interface Message {
  conversationId: string;
  seq: number;
  messageId: string;
  senderId: string;
  clientMessageId: string;
  text: string;
  createdAt: string;
}

export const toMessage = ({
  conversationId,
  seq,
  messageId,
  senderId,
  clientMessageId,
  text,
  createdAt,
}: MessageItem) => ({
  conversationId,
  seq,
  messageId,
  senderId,
  clientMessageId,
  text,
  createdAt,
});

export interface SendOutcome {
  message: Message;
  /** True when an earlier send with the same client message id had stored it. */
  duplicate: boolean;
  /** Members to notify (the sender included, for their other connections). */
  memberIds: string[];
  inlineFanout: boolean;
  /** Attempts lost to concurrent senders before this one committed. */
  conflicts: number;
}

/**
 * Warm-container cache of conversation snapshots with their member lists. Safe because the transaction
 * re-checks what it relies on (lastSeq, membership version, status, the sender's membership, the
 * friendship) and a stale snapshot is refreshed from the failed condition's old image; the member
 * list is reloaded only when the membership version moved.
 */
const snapshots = new Map<string, ConversationSnapshot>();
const SNAPSHOT_CACHE_MAX = 1000;

/** A snapshot of a conversation with its members as of the conversation's current version. */
async function snapshotOf(
  c: ConversationItem,
  previous?: ConversationSnapshot,
): Promise<ConversationSnapshot> {
  const memberIds = previous && previous.version === c.version ? previous.memberIds : await memberIdsOf(c);
  return {
    conversationId: c.conversationId,
    lastSeq: c.lastSeq,
    version: c.version,
    type: c.type,
    memberCount: c.memberCount,
    memberIds,
  };
}

function remember(s: ConversationSnapshot): void {
  if (snapshots.size >= SNAPSHOT_CACHE_MAX) snapshots.delete(snapshots.keys().next().value as string);
  snapshots.set(s.conversationId, s);
}

async function freshSnapshot(conversationId: string, me: string): Promise<ConversationSnapshot> {
  const c = await getConversation(conversationId);
  if (!c) throw new NotFoundError('Conversation not found');
  const snapshot = await snapshotOf(c);
  // Outsiders learn nothing, not even the conversation's state.
  if (!snapshot.memberIds.includes(me))
    throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  if (c.status !== 'active') throw new ForbiddenError(`Conversation is ${c.status}`);
  return snapshot;
}

/**
 * Stores a message: exactly one new `seq`, or the earlier copy when the sender retries a client message
 * id. Concurrent senders retry with backoff and jitter; after the bound, 503 and nothing written.
 */
export async function sendMessage(
  me: string,
  conversationId: string,
  clientMessageId: string,
  text: string,
  originConnectionId?: string,
): Promise<SendOutcome> {
  let snapshot = snapshots.get(conversationId) ?? (await freshSnapshot(conversationId, me));
  let conflicts = 0;
  const messageId = newId('m');
  const outcome = await withRetry(async () => {
    const createdAt = new Date().toISOString();
    const peerId = snapshot.type === 'direct' ? snapshot.memberIds.find((id) => id !== me) : undefined;
    const fanout = snapshot.memberCount > INLINE_FANOUT_MAX_MEMBERS ? 'stream' : undefined;
    const item: MessageItem = {
      conversationId,
      seq: snapshot.lastSeq + 1,
      messageId,
      senderId: me,
      clientMessageId,
      text,
      createdAt,
      version: 1,
      ...(fanout ? { fanout, ...(originConnectionId ? { originConnectionId } : {}) } : {}),
    };
    sendCounters.attempts++;
    const result = await appendMessage(snapshot, item, peerId);
    if (result.ok) {
      remember({ ...snapshot, lastSeq: item.seq });
      return { item, duplicate: false };
    }
    switch (result.reason) {
      case 'duplicate': {
        const stored = await findByClientMessageId(conversationId, me, clientMessageId);
        if (!stored) throw new RetryableError('guard without its message yet');
        return { item: stored, duplicate: true };
      }
      case 'not_a_member':
        snapshots.delete(conversationId);
        throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
      case 'not_friends':
        throw new ForbiddenError('You are no longer friends; this conversation is read-only', 'not_friends');
      case 'stale': {
        conflicts++;
        sendCounters.staleRetries++;
        const current = result.current;
        if (!current) {
          snapshots.delete(conversationId);
          throw new NotFoundError('Conversation not found');
        }
        if (current.status !== 'active') throw new ForbiddenError(`Conversation is ${current.status}`);
        snapshot = await snapshotOf(current, snapshot);
        remember(snapshot);
        throw new RetryableError('another sender took this seq', { fresh: true });
      }
    }
  }, SEND_RETRY).catch((err) => {
    if (err instanceof UnavailableError)
      logger.warn('send gave up under contention', { conversationId, conflicts });
    throw err;
  });
  return {
    message: toMessage(outcome.item),
    duplicate: outcome.duplicate,
    memberIds: snapshot.memberIds,
    inlineFanout: outcome.item.fanout !== 'stream',
    conflicts,
  };
}

/** Pushes a stored message to every member's open connections except the sending one. */
export async function fanOutMessage(outcome: SendOutcome, exceptConnectionId?: string): Promise<void> {
  if (!outcome.inlineFanout) return;
  await notifyUsers(outcome.memberIds, { type: 'message', message: outcome.message }, exceptConnectionId);
}

/**
 * Fan-out from the messages stream, for conversations too large for the sender to push inline. Members
 * are read at delivery time; the sending connection (which got its ack) is skipped.
 */
export async function fanOutFromStream(item: MessageItem): Promise<void> {
  const memberIds = await groupMemberIds(item.conversationId);
  await pushToUsers(memberIds, { type: 'message', message: toMessage(item) }, item.originConnectionId);
}

/** History after a seq, ascending; members only. */
export async function getHistory(me: string, conversationId: string, afterSeq: number, limit: number) {
  await requireMember(conversationId, me);
  const page = await listMessages(conversationId, afterSeq, limit);
  return { items: page.items.map(toMessage), hasMore: page.hasMore };
}

/** Moves the caller's read position forward and tells the other members. */
export async function markRead(me: string, conversationId: string, seq: number): Promise<void> {
  const conversation = await requireMember(conversationId, me);
  const target = Math.min(seq, conversation.lastSeq);
  const result = await storeReadPosition(me, conversationId, target);
  if (result === 'not_a_member')
    throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  if (result === 'moved') {
    const others = (await memberIdsOf(conversation)).filter((id) => id !== me);
    await notifyUsers(others, { type: 'read', conversationId, userId: me, seq: target });
  }
}

/** Relays a typing indicator to the other members; nothing is stored. */
export async function typing(me: string, conversationId: string): Promise<void> {
  const conversation = await requireMember(conversationId, me);
  const others = (await memberIdsOf(conversation)).filter((id) => id !== me);
  await pushToUsers(others, { type: 'typing', conversationId, userId: me });
}

/** Every member's id: the pair of a direct conversation, the members table of a group. */
async function memberIdsOf(c: ConversationItem): Promise<string[]> {
  return c.type === 'direct' ? (c.memberIds ?? []) : groupMemberIds(c.conversationId);
}

async function groupMemberIds(conversationId: string): Promise<string[]> {
  return (await listMembers(conversationId)).map((m) => m.userId);
}
