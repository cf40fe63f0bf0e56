import {
  type ConversationItem,
  getConversation,
  getMember,
  listMembers,
} from '../data/conversations-repo.js';
import {
  getGuard,
  getMessage,
  listMessages,
  type MessageItem,
  markRead as storeReadPosition,
} from '../data/messages-repo.js';
import { enqueueSend } from '../data/send-queue.js';
import { type AppError, ForbiddenError, NotFoundError, UnavailableError } from '../errors.js';
import { newId } from './ids.js';
import { requireMember } from './membership.js';
import { notifyUsers, pushToUsers } from './push.js';
import { limitSends } from './rate-limits.js';

/** Conversations above this size are fanned out from the stream, so the sequencer never waits for them. */
export const INLINE_FANOUT_MAX_MEMBERS = 100;
/** How long `POST .../messages` waits for the sequencer's commit before answering 503 (ms). */
export const SEND_WAIT_MS = 20_000;

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
}: MessageItem): Message => ({
  conversationId,
  seq,
  messageId,
  senderId,
  clientMessageId,
  text,
  createdAt,
});

/** A send as the API received it. */
export interface SendRequest {
  me: string;
  conversationId: string;
  clientMessageId: string;
  text: string;
  /** API Gateway's request id: one attempt is queued at most once. */
  attemptId: string;
  /** WebSocket sends: the connection the sequencer acknowledges, and the frame's arrival time. */
  origin?: { connectionId: string; requestId?: string; frameTime: number };
}

/** What accepting a send did: queued it for the sequencer, or found it stored by an earlier attempt. */
export type Acceptance = { queued: true } | { queued: false; stored: Message };

/** Refusal codes the sequencer records, as the errors the API answers with. */
export function rejectionError(code: string): AppError {
  switch (code) {
    case 'not_a_member':
      return new ForbiddenError('Not a member of this conversation', 'not_a_member');
    case 'not_friends':
      return new ForbiddenError('You are no longer friends; this conversation is read-only', 'not_friends');
    case 'not_found':
      return new NotFoundError('Conversation not found');
    default:
      return new ForbiddenError('Conversation is not active');
  }
}

/**
 * Active conversations this container has seen recently: the entry check needs only the status, and
 * the sequencer re-checks it inside the commit, so a stale entry costs at most a late refusal.
 */
const activeSeen = new Map<string, number>();
const ACTIVE_SEEN_MS = 10_000;

async function requireActive(conversationId: string): Promise<void> {
  const seenAt = activeSeen.get(conversationId);
  if (seenAt !== undefined && Date.now() - seenAt < ACTIVE_SEEN_MS) return;
  const c = await getConversation(conversationId);
  if (!c) throw new NotFoundError('Conversation not found');
  if (c.status !== 'active') throw new ForbiddenError(`Conversation is ${c.status}`);
  if (activeSeen.size >= 10_000) activeSeen.clear();
  activeSeen.set(conversationId, Date.now());
}

/**
 * Validates a send and hands it to the conversation's ordered writer (the FIFO queue), refusing at
 * once what is over the sender's rate limit (429 `throttled`; nothing is written but the refusal).
 * HTTP sends are also checked up front (403 not a member, 404 unknown conversation) and a retry of a
 * stored message is answered with the stored copy without queueing. WebSocket sends go to the queue
 * right after the rate limit: the fewer steps before the enqueue, the surer a connection's frames
 * reach the queue in the order sent; the sequencer refuses outsiders with an error frame instead.
 */
export async function acceptSend(req: SendRequest): Promise<Acceptance> {
  await limitSends(req.me);
  if (!req.origin) {
    const [member, guard] = await Promise.all([
      getMember(req.conversationId, req.me),
      getGuard(req.conversationId, req.me, req.clientMessageId),
    ]);
    if (!member) {
      // Outsiders learn only whether the conversation exists.
      if (!(await getConversation(req.conversationId))) throw new NotFoundError('Conversation not found');
      throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
    }
    if (guard?.seq !== undefined) {
      const stored = await getMessage(req.conversationId, guard.seq);
      if (stored) return { queued: false, stored: toMessage(stored) };
    }
    await requireActive(req.conversationId);
  }
  await enqueueSend({
    attemptId: req.attemptId,
    conversationId: req.conversationId,
    senderId: req.me,
    clientMessageId: req.clientMessageId,
    text: req.text,
    messageId: newId('m'),
    enqueuedAt: Date.now(),
    ...(req.origin ? { origin: req.origin } : {}),
  });
  return { queued: true };
}

/**
 * Sends and waits for the sequencer's commit (HTTP): the stored message, with `duplicate` when an
 * earlier attempt stored it. Throws the sequencer's refusal, or 503 when no commit came within
 * SEND_WAIT_MS (the send may still commit; a retry with the same clientMessageId is always safe).
 */
export async function sendAndWait(req: SendRequest): Promise<{ message: Message; duplicate: boolean }> {
  const accepted = await acceptSend(req);
  if (!accepted.queued) return { message: accepted.stored, duplicate: true };
  const deadline = Date.now() + SEND_WAIT_MS;
  // Each poll is one consistent read: start near a commit's usual latency and back off, so that many
  // waiting requests do not load the table more than the commits they wait for.
  for (let delay = 8; ; delay = Math.min(delay * 2, 100)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    const guard = await getGuard(req.conversationId, req.me, req.clientMessageId);
    if (guard?.seq !== undefined) {
      const stored = await getMessage(req.conversationId, guard.seq);
      if (stored) return { message: toMessage(stored), duplicate: guard.attemptId !== req.attemptId };
    } else if (guard?.rejected && guard.rejectedAttempts?.has(req.attemptId)) {
      throw rejectionError(guard.rejected);
    }
    if (Date.now() >= deadline) {
      throw new UnavailableError(
        'The message is queued but was not confirmed in time; retry with the same clientMessageId',
      );
    }
  }
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
export async function memberIdsOf(c: ConversationItem): Promise<string[]> {
  return c.type === 'direct' ? (c.memberIds ?? []) : groupMemberIds(c.conversationId);
}

async function groupMemberIds(conversationId: string): Promise<string[]> {
  return (await listMembers(conversationId)).map((m) => m.userId);
}
