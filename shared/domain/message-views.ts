import { getMessagesBySeq, listOwnReactions } from '../data/message-changes-repo.js';
import type { MessageItem } from '../data/messages-repo.js';
import { type Message, type ReplyPreview, toMessage } from './messages.js';

/** How much of a parent's text a reply quotes, in code points. */
export const REPLY_PREVIEW_CHARS = 100;

/** The quote of a reply's parent as it is now: its first characters, or only that it was deleted. */
export function replyPreview(seq: number, parent: MessageItem | undefined): ReplyPreview {
  if (!parent || parent.deletedAt)
    return { seq, ...(parent ? { senderId: parent.senderId } : {}), text: '', deleted: true };
  // By code points, so that a quote never ends in half a surrogate pair.
  const text = Array.from(parent.text).slice(0, REPLY_PREVIEW_CHARS).join('');
  return { seq, senderId: parent.senderId, text };
}

/**
 * Stored messages as one member reads them (history, sync, changes): each reply carries the current
 * quote of its parent, and each message the reader's own reactions. Two reads at most: the parents not
 * on the page (one batch), the reader's reactions over the page's seq range (one query).
 */
export async function forReader(
  me: string,
  conversationId: string,
  items: readonly MessageItem[],
): Promise<Message[]> {
  if (items.length === 0) return [];
  const bySeq = new Map(items.map((m) => [m.seq, m]));
  const parentSeqs = items.flatMap((m) => (m.replyTo && !m.deletedAt ? [m.replyTo.seq] : []));
  const reacted = items.filter((m) => !m.deletedAt && m.reactions && Object.keys(m.reactions).length);
  const seqs = reacted.map((m) => m.seq);
  const [parents, own] = await Promise.all([
    getMessagesBySeq(
      conversationId,
      parentSeqs.filter((s) => !bySeq.has(s)),
    ),
    seqs.length
      ? listOwnReactions(conversationId, me, Math.min(...seqs), Math.max(...seqs))
      : Promise.resolve(new Map<number, string[]>()),
  ]);
  return items.map((item) => {
    const message = toMessage(item);
    if (item.replyTo && !item.deletedAt) {
      const seq = item.replyTo.seq;
      message.replyTo = replyPreview(seq, bySeq.get(seq) ?? parents.get(seq));
    }
    // Reactions of a deleted message are gone with it, whatever reaction items remain.
    const mine = item.deletedAt
      ? []
      : (own.get(item.seq) ?? []).filter((e) => (item.reactions?.[e] ?? 0) > 0);
    if (mine.length) message.myReactions = mine.sort();
    return message;
  });
}
