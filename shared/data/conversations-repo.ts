import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from './batch-get.js';
import type { MessageCore, MessageItem } from './messages-repo.js';
import { queryAll, scanTable } from './scan.js';
import type { HeldSend } from './send-queue.js';

export type ConversationType = 'direct' | 'group';
export type ConversationStatus = 'active' | 'creating' | 'closed' | 'failed';

/**
 * A conversation's last message: its core (text cut to 200 characters), and once edited or deleted its
 * version and the time of that change (a deleted last message has an empty text).
 */
export type StoredMessageSummary = MessageCore &
  Partial<Pick<MessageItem, 'version' | 'editedAt' | 'deletedAt'>>;

export interface ConversationItem {
  conversationId: string;
  type: ConversationType;
  name?: string;
  ownerId?: string;
  memberIds?: string[];
  memberCount: number;
  lastSeq: number;
  lastMessage?: StoredMessageSummary;
  status: ConversationStatus;
  createdAt: string;
  lastActivityAt: string;
  version: number;
  /** The sequencer's revision: bumped by each of its writes (absent before the first). */
  sequencerRev?: number;
  /** WebSocket sends the sequencer holds until they leave its reorder window (usually absent). */
  held?: HeldSend[];
}

export interface MemberItem {
  conversationId: string;
  userId: string;
  role: 'owner' | 'member';
  joinedAt: string;
}

/** A user's list entry for a conversation; holds the read position. */
export interface UserConversationItem {
  userId: string;
  conversationId: string;
  type: ConversationType;
  joinedAt: string;
  lastReadSeq: number;
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

/** Reads one conversation strongly consistently. */
export async function getConversation(conversationId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.conversations, Key: { conversationId }, ConsistentRead: true }),
  );
  return res.Item as ConversationItem | undefined;
}

/** Reads many conversations strongly consistently. */
export async function getConversations(ids: readonly string[], deps: Deps = {}): Promise<ConversationItem[]> {
  const { client, t } = env(deps);
  return batchGetAll<ConversationItem>(
    client,
    t.conversations,
    ids.map((conversationId) => ({ conversationId })),
  );
}

/** A user's conversation list entries, from the base table (read-your-writes). */
export async function listUserConversations(
  userId: string,
  deps: Deps = {},
): Promise<UserConversationItem[]> {
  const { client, t } = env(deps);
  return queryAll<UserConversationItem>(client, {
    TableName: t.userConversations,
    KeyConditionExpression: 'userId = :u',
    ExpressionAttributeValues: { ':u': userId },
  });
}

/** One membership, if it exists. */
export async function getMember(conversationId: string, userId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.members, Key: { conversationId, userId }, ConsistentRead: true }),
  );
  return res.Item as MemberItem | undefined;
}

/** Every member of a conversation. */
export async function listMembers(conversationId: string, deps: Deps = {}): Promise<MemberItem[]> {
  const { client, t } = env(deps);
  return queryAll<MemberItem>(client, {
    TableName: t.members,
    KeyConditionExpression: 'conversationId = :c',
    ExpressionAttributeValues: { ':c': conversationId },
  });
}

/** One user's list entry for a conversation (holds the read position). */
export async function getUserConversation(userId: string, conversationId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.userConversations, Key: { userId, conversationId }, ConsistentRead: true }),
  );
  return res.Item as UserConversationItem | undefined;
}

/**
 * Every conversation, membership and per-user list entry, strongly consistent; for checkers, never
 * request paths.
 */
export async function scanConversationTables(deps: Deps = {}): Promise<{
  conversations: ConversationItem[];
  members: MemberItem[];
  entries: UserConversationItem[];
}> {
  const { client, t } = env(deps);
  const [conversations, members, entries] = await Promise.all([
    scanTable<ConversationItem>(client, t.conversations),
    scanTable<MemberItem>(client, t.members),
    scanTable<UserConversationItem>(client, t.userConversations),
  ]);
  return { conversations, members, entries };
}
