import {
  type ConversationItem,
  getConversation,
  getMember,
  listMembers,
} from '../data/conversations-repo.js';
import { getLastChangeSeq } from '../data/message-changes-repo.js';
import {
  getGuard,
  getMessage,
  listMessages,
  type MessageCore,
  type MessageItem,
  messageCore,
  markRead as storeReadPosition,
} from '../data/messages-repo.js';
import { enqueueSend } from '../data/send-queue.js';
import { type AppError, ForbiddenError, NotFoundError, UnavailableError } from '../errors.js';
import { blockedAmong } from './blocks.js';
import { newId } from './ids.js';
import { requireMember, requireWriter } from './membership.js';
import { forReader } from './message-views.js';
import { notifyUsers, pushToUsers } from './push.js';
import { limitSends } from './rate-limits.js';

/** Conversations above this size are fanned out from the stream, so the sequencer never waits for them. */
export const INLINE_FANOUT_MAX_MEMBERS = 100;
/** How long `POST .../messages` waits for the sequencer's commit before answering 503 (ms). */
export const SEND_WAIT_MS = 20_000;

/** A reply's parent as history shows it: a short quote, or only that it was deleted. */
export interface ReplyPreview {
  seq: number;
  senderId?: string;
  /** The parent's text, cut to REPLY_PREVIEW_CHARS code points (empty when deleted). */
  text?: string;
  deleted?: true;
}

/** The contract's `Message` (shared/protocol/objects.ts). */
export interface Message
  extends MessageCore,
    Pick<MessageItem, 'version' | 'editedAt' | 'deletedAt' | 'reactions' | 'changeSeq'> {
  /** The parent's current quote (the stored item holds only its seq). */
  replyTo?: ReplyPreview;
  /** The reader's own reactions (history, sync and changes only). */
  myReactions?: string[];
}

/** The stored message as every member sees it (no per-reader fields). */
export const toMessage = (m: MessageItem): Message => ({
  ...messageCore(m),
  version: m.version ?? 1,
  ...(m.editedAt ? { editedAt: m.editedAt } : {}),
  ...(m.deletedAt ? { deletedAt: m.deletedAt } : {}),
  ...(m.replyTo ? { replyTo: { seq: m.replyTo.seq } } : {}),
  ...(m.reactions && Object.keys(m.reactions).length ? { reactions: m.reactions } : {}),
  ...(m.changeSeq !== undefined ? { changeSeq: m.changeSeq } : {}),
});

/** A send as the API received it. */
export interface SendRequest {
  me: string;
  conversationId: string;
  clientMessageId: string;
  text: string;
  /** The message this one answers: checked to exist, undeleted, in the same conversation. */
  replyTo?: { seq: number };
  /** API Gateway's request id: one attempt is queued at most once. */
  attemptId: string;
  /** WebSocket sends: the connection the sequencer acknowledges, and the frame's arrival time. */
  origin?: { connectionId: string; requestId?: string; frameTime: number; previousAcked?: boolean };
}

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
 * How long this container trusts an entry check it passed (ms): an active conversation, a member of it.
 * Only a fast path: the sequencer re-checks status and membership inside the commit, so a stale entry
 * costs at most a refusal that comes from the sequencer instead of the entry.
 */
const ENTRY_CHECK_TTL_MS = 10_000;
const ENTRY_CHECK_CACHE_MAX = 10_000;
const entryChecked = new Map<string, number>();

function recentlyChecked(key: string): boolean {
  const at = entryChecked.get(key);
  return at !== undefined && Date.now() - at < ENTRY_CHECK_TTL_MS;
}

function rememberChecked(key: string): void {
  if (entryChecked.size >= ENTRY_CHECK_CACHE_MAX) entryChecked.clear();
  entryChecked.set(key, Date.now());
}

/** HTTP entry check: 404 for an unknown conversation, 403 for an outsider or an inactive conversation. */
async function requireActiveMember(conversationId: string, me: string): Promise<void> {
  const memberKey = `${conversationId}\u0000${me}`;
  if (recentlyChecked(memberKey)) return;
  const member = await getMember(conversationId, me);
  // Outsiders learn only whether the conversation exists.
  if (!member && !(await getConversation(conversationId))) throw new NotFoundError('Conversation not found');
  if (!member) throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  if (!recentlyChecked(conversationId)) {
    const c = await getConversation(conversationId);
    if (!c) throw new NotFoundError('Conversation not found');
    if (c.status !== 'active') throw new ForbiddenError(`Conversation is ${c.status}`);
    rememberChecked(conversationId);
  }
  rememberChecked(memberKey);
}

/** What the API queued: the message id it chose (the stored message keeps it). */
export interface Accepted {
  messageId: string;
}

/**
 * Validates a send and hands it to the conversation's ordered writer (the FIFO queue), refusing at
 * once what is over the sender's rate limit (429 `throttled`; nothing is written but the refusal).
 * HTTP sends are also checked up front (403 not a member, 404 unknown conversation). WebSocket sends
 * go to the queue right after the rate limit: the fewer steps before the enqueue, the surer a
 * connection's frames reach the queue in the order sent; the sequencer refuses outsiders with an
 * error frame instead. A retry of a stored message is queued like any send: the sequencer answers it
 * from the message's guard with the stored copy.
 */
export async function acceptSend(req: SendRequest): Promise<Accepted> {
  await limitSends(req.me);
  if (!req.origin) await requireActiveMember(req.conversationId, req.me);
  else if (req.replyTo && !(await getMember(req.conversationId, req.me))) {
    // Only members learn whether a seq exists; the sequencer re-checks membership at commit.
    throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  }
  // Messages are never removed (a deletion leaves a tombstone), so a parent found here still exists
  // when the sequencer commits the reply; one deleted meanwhile shows as deleted in history.
  if (req.replyTo) await requireReplyParent(req, req.replyTo.seq);
  const messageId = newId('m');
  await enqueueSend({
    attemptId: req.attemptId,
    conversationId: req.conversationId,
    senderId: req.me,
    clientMessageId: req.clientMessageId,
    text: req.text,
    ...(req.replyTo ? { replyTo: { seq: req.replyTo.seq } } : {}),
    messageId,
    enqueuedAt: Date.now(),
    ...(req.origin ? { origin: req.origin } : {}),
  });
  return { messageId };
}

/**
 * This container's recent commit wait (ms, an exponentially weighted mean): the first poll comes when a
 * commit usually has landed, so that a waiting request costs about one read, however loaded the
 * sequencer is.
 */
let expectedCommitMs = 20;

/**
 * The waits between polls (ms): the first a little before the expected commit, then from a tenth of it,
 * doubling up to a quarter of it (at least 100 ms, at most 1 s). About two reads per send whether
 * commits take 20 ms or 2 s; a wait past the expected time costs at most a quarter of it in latency.
 */
export function* pollDelays(expectedMs: number): Generator<number, never> {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const cap = clamp(expectedMs / 4, 100, 1000);
  yield clamp(0.9 * expectedMs, 5, 5000);
  for (let step = clamp(expectedMs / 10, 10, cap); ; step = Math.min(cap, step * 2)) yield step;
}

/**
 * Sends and waits for the sequencer's commit (HTTP): the stored message, with `duplicate` when an
 * earlier attempt stored it. Throws the sequencer's refusal, or 503 when no commit came within
 * SEND_WAIT_MS (the send may still commit; a retry with the same clientMessageId is always safe).
 * Each poll is one strongly consistent read of the send's guard, which carries what the answer needs.
 */
export async function sendAndWait(req: SendRequest): Promise<{ message: Message; duplicate: boolean }> {
  const { messageId } = await acceptSend(req);
  const started = Date.now();
  const deadline = started + SEND_WAIT_MS;
  for (const delay of pollDelays(expectedCommitMs)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    const guard = await getGuard(req.conversationId, req.me, req.clientMessageId);
    if (guard?.seq !== undefined) {
      expectedCommitMs = 0.8 * expectedCommitMs + 0.2 * (Date.now() - started);
      const duplicate = guard.attemptId !== req.attemptId;
      if (!duplicate && guard.messageId === messageId && guard.createdAt !== undefined) {
        const { conversationId, clientMessageId, text, me: senderId } = req;
        const { seq, createdAt } = guard;
        const replyTo = req.replyTo ? { replyTo: { seq: req.replyTo.seq } } : {};
        return {
          message: {
            conversationId,
            seq,
            messageId,
            senderId,
            clientMessageId,
            text,
            createdAt,
            version: 1,
            ...replyTo,
          },
          duplicate,
        };
      }
      const stored = await getMessage(req.conversationId, guard.seq);
      if (stored) return { message: toMessage(stored), duplicate };
    } else if (guard?.rejected && guard.rejectedAttempts?.has(req.attemptId)) {
      throw rejectionError(guard.rejected);
    }
    if (Date.now() >= deadline) {
      throw new UnavailableError(
        'The message is queued but was not confirmed in time; retry with the same clientMessageId',
      );
    }
  }
  throw new Error('unreachable: pollDelays never ends');
}

/**
 * Fan-out from the messages stream, for conversations too large for the sender to push inline. Members
 * are read at delivery time; the sending connection (which got its ack) is skipped.
 */
export async function fanOutFromStream(item: MessageItem): Promise<void> {
  const memberIds = await groupMemberIds(item.conversationId);
  await pushToUsers(memberIds, { type: 'message', message: toMessage(item) }, item.originConnectionId);
}

/**
 * 404 unless the conversation holds an undeleted message at the reply's `seq`. A retry of a reply
 * stored before its parent was deleted passes, so that it is answered with the stored copy.
 */
async function requireReplyParent(req: SendRequest, seq: number): Promise<void> {
  const parent = await getMessage(req.conversationId, seq);
  const field = { field: 'replyTo.seq' };
  if (!parent) throw new NotFoundError(`replyTo: no message at seq ${seq} in this conversation`, field);
  if (!parent.deletedAt) return;
  const stored = await getGuard(req.conversationId, req.me, req.clientMessageId);
  if (stored?.seq === undefined)
    throw new NotFoundError(`replyTo: the message at seq ${seq} was deleted`, field);
}

/**
 * History after a seq, ascending; members only. `changeSeq` is the conversation's change number read
 * before the page: `GET .../changes?afterChangeSeq=` from it returns every later edit, deletion and
 * reaction of messages the page holds.
 */
export async function getHistory(me: string, conversationId: string, afterSeq: number, limit: number) {
  const [, changeSeq] = await Promise.all([
    requireMember(conversationId, me),
    getLastChangeSeq(conversationId),
  ]);
  const page = await listMessages(conversationId, afterSeq, limit);
  return { items: await forReader(me, conversationId, page.items), hasMore: page.hasMore, changeSeq };
}

/** Moves the caller's read position forward and tells the other members. */
export async function markRead(me: string, conversationId: string, seq: number): Promise<void> {
  const conversation = await requireWriter(conversationId, me);
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
  const conversation = await requireWriter(conversationId, me);
  // A block hides typing both ways (in a group they still share): neither the typist's blocked users
  // nor those who blocked the typist see it. One batch read of both directions for the members.
  const members = (await memberIdsOf(conversation)).filter((id) => id !== me);
  const blocked = await blockedAmong(me, members);
  const others = members.filter((id) => !blocked.has(id));
  await pushToUsers(others, { type: 'typing', conversationId, userId: me });
}

/** Every member's id: the pair of a direct conversation, the members table of a group. */
export async function memberIdsOf(c: ConversationItem): Promise<string[]> {
  return c.type === 'direct' ? (c.memberIds ?? []) : groupMemberIds(c.conversationId);
}

async function groupMemberIds(conversationId: string): Promise<string[]> {
  return (await listMembers(conversationId)).map((m) => m.userId);
}
