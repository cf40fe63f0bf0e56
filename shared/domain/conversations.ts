import {
  type ConversationItem,
  getConversations,
  listUserConversations,
  type StoredMessageSummary,
  type UserConversationItem,
} from '../data/conversations-repo.js';
import { getUsers } from '../data/users-repo.js';
import type { PageQuery } from '../protocol/requests.js';
import { VISIBLE } from './membership.js';
import { type Page, paginate } from './pagination.js';
import { type PublicProfile, toPublicProfile } from './users.js';

/** The contract's `Conversation`, seen by one member. */
export interface Conversation {
  conversationId: string;
  type: ConversationItem['type'];
  name: string | null;
  memberCount: number;
  lastSeq: number;
  lastMessage: StoredMessageSummary | null;
  lastReadSeq: number;
  unreadCount: number;
  status: ConversationItem['status'];
  /** For a direct conversation: the other person. */
  peer?: PublicProfile;
  lastActivityAt: string;
}

/** Shapes a stored conversation for one member's view. */
export function toConversation(
  c: ConversationItem,
  entry: Pick<UserConversationItem, 'lastReadSeq'> | undefined,
  peer?: PublicProfile,
): Conversation {
  const lastReadSeq = Math.min(entry?.lastReadSeq ?? 0, c.lastSeq);
  return {
    conversationId: c.conversationId,
    type: c.type,
    name: c.name ?? null,
    memberCount: c.memberCount,
    lastSeq: c.lastSeq,
    lastMessage: c.lastMessage ? { ...c.lastMessage, version: c.lastMessage.version ?? 1 } : null,
    lastReadSeq,
    unreadCount: Math.max(0, c.lastSeq - lastReadSeq),
    status: c.status,
    ...(peer ? { peer } : {}),
    lastActivityAt: c.lastActivityAt,
  };
}

/** Most recent activity first; the id breaks ties, so the order (and every cursor) is total. */
const byActivity = {
  key: (c: ConversationItem) => [c.lastActivityAt, c.conversationId],
  descending: [true, false],
} as const;

/**
 * One page of the caller's conversations, most recent activity first, read from base tables only.
 * Every conversation is read to order them; only the page's peers are read.
 */
export async function listConversations(me: string, query: PageQuery): Promise<Page<Conversation>> {
  const entries = await listUserConversations(me);
  const conversations = (await getConversations(entries.map((e) => e.conversationId))).filter((c) =>
    VISIBLE.has(c.status),
  );
  const page = paginate(conversations, byActivity, query);
  const peerOf = (c: ConversationItem) =>
    c.type === 'direct' ? c.memberIds?.find((id) => id !== me) : undefined;
  const peerIds = page.items.map(peerOf).filter((id): id is string => id !== undefined);
  const peers = new Map((await getUsers(peerIds)).map((u) => [u.userId, u]));
  const byId = new Map(entries.map((e) => [e.conversationId, e]));
  return {
    items: page.items.map((c) => {
      const peer = peers.get(peerOf(c) ?? '');
      return toConversation(c, byId.get(c.conversationId), peer ? toPublicProfile(peer) : undefined);
    }),
    nextCursor: page.nextCursor,
  };
}
