import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { RetryableError } from '../retry.js';
import type { ConversationItem } from './conversations-repo.js';
import { cancellationReasons, isRetryableCancellation } from './transactions.js';

/** A stored message; `version` is the search document version. */
export interface MessageItem {
  conversationId: string;
  seq: number;
  messageId: string;
  senderId: string;
  clientMessageId: string;
  text: string;
  createdAt: string;
  version: number;
  /** Set when the conversation is too large for the sender to fan out inline. */
  fanout?: 'stream';
  /** The WebSocket connection that sent it, which gets an ack instead of the message event. */
  originConnectionId?: string;
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

/** The guard's sort key: one per sender and client message id within a conversation. */
export const guardKey = (senderId: string, clientMessageId: string) => `${senderId}#${clientMessageId}`;

/** What the sender believes the conversation looks like; the transaction re-checks what matters. */
export interface ConversationSnapshot {
  conversationId: string;
  lastSeq: number;
  /** Bumped by every membership change: members cached with it are exactly the members at commit. */
  version: number;
  type: ConversationItem['type'];
  memberCount: number;
  memberIds: string[];
}

export type AppendResult =
  | { ok: true; consumedCapacity: number }
  | { ok: false; reason: 'stale'; current: ConversationItem | undefined }
  | { ok: false; reason: 'duplicate' | 'not_a_member' | 'not_friends' };

/**
 * One transaction per message: the conversation's `lastSeq` advanced by exactly one (on condition it
 * is still the snapshot's, its membership version unchanged and the conversation still active), the message stored
 * under that seq, the sender's client-message-id guard, the membership check and, for a direct
 * conversation, the friendship check.
 */
export async function appendMessage(
  snapshot: ConversationSnapshot,
  message: MessageItem,
  peerId: string | undefined,
  deps: Deps = {},
): Promise<AppendResult> {
  const { client, t } = env(deps);
  const summary = {
    conversationId: message.conversationId,
    seq: message.seq,
    messageId: message.messageId,
    senderId: message.senderId,
    clientMessageId: message.clientMessageId,
    text: message.text.slice(0, 200),
    createdAt: message.createdAt,
  };
  const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
    {
      Update: {
        TableName: t.conversations,
        Key: { conversationId: snapshot.conversationId },
        UpdateExpression: 'SET lastSeq = :seq, lastMessage = :summary, lastActivityAt = :now',
        ConditionExpression: 'lastSeq = :prev AND version = :version AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':seq': message.seq,
          ':prev': snapshot.lastSeq,
          ':version': snapshot.version,
          ':active': 'active',
          ':summary': summary,
          ':now': message.createdAt,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    {
      Put: {
        TableName: t.messageGuards,
        Item: {
          conversationId: message.conversationId,
          guardKey: guardKey(message.senderId, message.clientMessageId),
          seq: message.seq,
          messageId: message.messageId,
        },
        ConditionExpression: 'attribute_not_exists(guardKey)',
      },
    },
    {
      ConditionCheck: {
        TableName: t.members,
        Key: { conversationId: message.conversationId, userId: message.senderId },
        ConditionExpression: 'attribute_exists(userId)',
      },
    },
    {
      Put: {
        TableName: t.messages,
        Item: message,
        ConditionExpression: 'attribute_not_exists(seq)',
      },
    },
  ];
  if (peerId) {
    items.push({
      ConditionCheck: {
        TableName: t.friendships,
        Key: { userId: message.senderId, friendId: peerId },
        ConditionExpression: 'attribute_exists(friendId)',
      },
    });
  }
  try {
    const res = await client.send(
      new TransactWriteCommand({ TransactItems: items, ReturnConsumedCapacity: 'TOTAL' }),
    );
    const consumedCapacity = (res.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
    return { ok: true, consumedCapacity };
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[1]?.code === 'ConditionalCheckFailed') return { ok: false, reason: 'duplicate' };
    if (reasons[2]?.code === 'ConditionalCheckFailed') return { ok: false, reason: 'not_a_member' };
    if (reasons[4]?.code === 'ConditionalCheckFailed') return { ok: false, reason: 'not_friends' };
    if (reasons[0]?.code === 'ConditionalCheckFailed' || reasons[3]?.code === 'ConditionalCheckFailed') {
      return { ok: false, reason: 'stale', current: reasons[0]?.item as ConversationItem | undefined };
    }
    if (isRetryableCancellation(reasons)) throw new RetryableError('send lost a race', { cause: err });
    throw err;
  }
}

/** The message a sender's earlier send with this client message id stored, if any. */
export async function findByClientMessageId(
  conversationId: string,
  senderId: string,
  clientMessageId: string,
  deps: Deps = {},
): Promise<MessageItem | undefined> {
  const { client, t } = env(deps);
  const guard = await client.send(
    new GetCommand({
      TableName: t.messageGuards,
      Key: { conversationId, guardKey: guardKey(senderId, clientMessageId) },
      ConsistentRead: true,
    }),
  );
  const seq = guard.Item?.seq as number | undefined;
  if (seq === undefined) return undefined;
  const res = await client.send(
    new GetCommand({ TableName: t.messages, Key: { conversationId, seq }, ConsistentRead: true }),
  );
  return res.Item as MessageItem | undefined;
}

/** Messages after `afterSeq` in ascending order, strongly consistent, with whether more follow. */
export async function listMessages(
  conversationId: string,
  afterSeq: number,
  limit: number,
  deps: Deps = {},
): Promise<{ items: MessageItem[]; hasMore: boolean }> {
  const { client, t } = env(deps);
  const res = await client.send(
    new QueryCommand({
      TableName: t.messages,
      KeyConditionExpression: 'conversationId = :c AND seq > :after',
      ExpressionAttributeValues: { ':c': conversationId, ':after': afterSeq },
      ConsistentRead: true,
      Limit: limit + 1,
    }),
  );
  const items = (res.Items ?? []) as MessageItem[];
  return { items: items.slice(0, limit), hasMore: items.length > limit };
}

export type MarkReadResult = 'moved' | 'unchanged' | 'not_a_member';

/** Moves a member's read position forward only. */
export async function markRead(userId: string, conversationId: string, seq: number, deps: Deps = {}) {
  const { client, t } = env(deps);
  try {
    await client.send(
      new UpdateCommand({
        TableName: t.userConversations,
        Key: { userId, conversationId },
        UpdateExpression: 'SET lastReadSeq = :seq',
        ConditionExpression: 'attribute_exists(userId) AND lastReadSeq < :seq',
        ExpressionAttributeValues: { ':seq': seq },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'moved' satisfies MarkReadResult;
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    return (err.Item ? 'unchanged' : 'not_a_member') satisfies MarkReadResult;
  }
}
