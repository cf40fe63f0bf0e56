import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { RetryableError } from '../retry.js';
import type { ConversationItem, StoredMessageSummary } from './conversations-repo.js';
import { queryAll } from './scan.js';
import type { HeldSend } from './send-queue.js';
import { cancellationReasons, isRetryableCancellation } from './transactions.js';

/**
 * The fields every view of a message shares, in the order they are written: the contract's `Message`
 * starts with them, the search document holds exactly them, the conversation's last-message summary
 * copies them.
 */
export const MESSAGE_CORE_FIELDS = [
  'conversationId',
  'seq',
  'messageId',
  'senderId',
  'clientMessageId',
  'text',
  'createdAt',
] as const;

/** A message's core (see MESSAGE_CORE_FIELDS). */
export type MessageCore = Pick<MessageItem, (typeof MESSAGE_CORE_FIELDS)[number]>;

/** Exactly the core fields of a message or of anything that carries them. */
export function messageCore(m: MessageCore): MessageCore {
  const { conversationId, seq, messageId, senderId, clientMessageId, text, createdAt } = m;
  return { conversationId, seq, messageId, senderId, clientMessageId, text, createdAt };
}

/** A stored message, the one declaration of its fields; `version` is the search document version. */
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
  /** The message this one replies to (same conversation; checked when the send was accepted). */
  replyTo?: { seq: number };
  /** Set by an edit (the text is the new one and `version` moved on). */
  editedAt?: string;
  /** Set by a deletion: the item stays as a tombstone with its text emptied. */
  deletedAt?: string;
  /** Reaction counts by emoji (absent when none). */
  reactions?: Record<string, number>;
  /** The conversation's change number of the latest edit, deletion or reaction (absent when none). */
  changeSeq?: number;
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
  /** The sequencer's revision of the conversation item (0 before its first write). */
  rev: number;
  /** Sends the sequencer holds until they leave its reorder window, in arrival order. */
  held: HeldSend[];
}

/** The conversation item's sequencer state: its revision and held sends. */
export function sequencerStateOf(c: ConversationItem): Pick<ConversationSnapshot, 'rev' | 'held'> {
  return { rev: c.sequencerRev ?? 0, held: c.held ?? [] };
}

/** The condition that the sequencer's state is still the snapshot's (one writer per conversation). */
function sequencerCondition(snapshot: ConversationSnapshot): {
  expression: string;
  values: Record<string, unknown>;
} {
  return snapshot.rev === 0
    ? { expression: 'attribute_not_exists(sequencerRev)', values: {} }
    : { expression: 'sequencerRev = :rev', values: { ':rev': snapshot.rev } };
}

/** SET/REMOVE clauses writing the held list and the next revision. */
function heldUpdate(snapshot: ConversationSnapshot, held: readonly HeldSend[]) {
  return {
    set: held.length ? ', held = :held, sequencerRev = :nextRev' : ', sequencerRev = :nextRev',
    remove: held.length ? '' : ' REMOVE held',
    // A JSON round trip drops undefined fields, which DynamoDB cannot store.
    values: {
      ':nextRev': snapshot.rev + 1,
      ...(held.length ? { ':held': JSON.parse(JSON.stringify(held)) as unknown } : {}),
    },
  };
}

/** A send's guard: the stored message's seq, or a short-lived record of why the sequencer refused it. */
export interface GuardItem {
  conversationId: string;
  guardKey: string;
  seq?: number;
  messageId?: string;
  /** The stored message's `createdAt`: with the request's own fields, the waiter needs no second read. */
  createdAt?: string;
  /** The API attempt that stored the message. */
  attemptId?: string;
  /** Set on a refusal: the error code, and every attempt it answered. */
  rejected?: string;
  rejectedAttempts?: Set<string>;
  expiresAt?: number;
}

/** A message ready to commit, with the attempt that carried it (recorded in its guard). */
export interface PendingMessage {
  item: MessageItem;
  attemptId: string;
}

/** DynamoDB's TransactWriteItems limits: 100 actions and 4 MB in all (AWS, DynamoDB service quotas). */
export const TRANSACTION_MAX_ACTIONS = 100;
export const TRANSACTION_MAX_BYTES = 4 * 1024 * 1024;
/** Head room under the byte limit for attribute names and expression overhead. */
const TRANSACTION_BYTE_BUDGET = TRANSACTION_MAX_BYTES - 256 * 1024;

/** Actions a batch transaction takes: the counter, a message and a guard each, then checks per sender. */
export function batchActions(messages: number, senders: number, direct: boolean): number {
  return 1 + 2 * messages + senders * (direct ? 3 : 2);
}

/**
 * Splits ordered messages into consecutive chunks that each fit one transaction (actions and bytes);
 * each chunk commits on its own, in order, so seq stays gapless.
 */
export function planTransactions(messages: readonly PendingMessage[], direct: boolean): PendingMessage[][] {
  const chunks: PendingMessage[][] = [];
  let chunk: PendingMessage[] = [];
  let senders = new Set<string>();
  let bytes = 0;
  for (const m of messages) {
    const size = 2 * Buffer.byteLength(JSON.stringify(m.item), 'utf8') + 512;
    const nextSenders = new Set(senders).add(m.item.senderId);
    const fits =
      batchActions(chunk.length + 1, nextSenders.size, direct) <= TRANSACTION_MAX_ACTIONS &&
      bytes + size <= TRANSACTION_BYTE_BUDGET;
    if (chunk.length > 0 && !fits) {
      chunks.push(chunk);
      chunk = [];
      senders = new Set();
      bytes = 0;
    }
    chunk.push(m);
    senders.add(m.item.senderId);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}

export type BatchAppendResult =
  | { ok: true; consumedCapacity: number }
  | {
      ok: false;
      /** The conversation as it is now when its counter, version or status no longer matched. */
      stale?: { current: ConversationItem | undefined };
      /** Messages (by index) whose guard existed: an earlier attempt stored them at this seq. */
      duplicates: Map<number, number>;
      notMembers: Set<string>;
      notFriends: Set<string>;
    };

/**
 * Group commit: ONE transaction stores consecutive messages of one conversation. It advances the
 * counter by their number (on condition it is still the snapshot's, the membership version unchanged
 * and the conversation active), puts each message at its seq with its guard, checks each distinct
 * sender's membership (and, in a direct conversation, the friendship), moves each sender's read
 * position to its own newest message, and sets the last-message summary. Lost races and throttling
 * throw RetryableError; failed conditions come back per message and per sender.
 */
export async function appendBatch(
  snapshot: ConversationSnapshot,
  messages: readonly PendingMessage[],
  peerOf: (senderId: string) => string | undefined,
  heldAfter: readonly HeldSend[],
  deps: Deps = {},
): Promise<BatchAppendResult> {
  const { client, t } = env(deps);
  const last = messages[messages.length - 1]?.item;
  if (!last) throw new Error('appendBatch: no messages');
  const state = sequencerCondition(snapshot);
  const held = heldUpdate(snapshot, heldAfter);
  const summary: StoredMessageSummary = { ...messageCore(last), text: last.text.slice(0, 200) };
  const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [
    {
      Update: {
        TableName: t.conversations,
        Key: { conversationId: snapshot.conversationId },
        UpdateExpression: `SET lastSeq = :seq, lastMessage = :summary, lastActivityAt = :now${held.set}${held.remove}`,
        ConditionExpression: `lastSeq = :prev AND version = :version AND #status = :active AND ${state.expression}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...state.values,
          ...held.values,
          ':seq': last.seq,
          ':prev': snapshot.lastSeq,
          ':version': snapshot.version,
          ':active': 'active',
          ':summary': summary,
          ':now': last.createdAt,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
  ];
  for (const { item, attemptId } of messages) {
    items.push(
      { Put: { TableName: t.messages, Item: item, ConditionExpression: 'attribute_not_exists(seq)' } },
      {
        Put: {
          TableName: t.messageGuards,
          Item: {
            conversationId: item.conversationId,
            guardKey: guardKey(item.senderId, item.clientMessageId),
            seq: item.seq,
            messageId: item.messageId,
            createdAt: item.createdAt,
            attemptId,
          },
          // A refusal record is overwritten: the sender may have become a member again since.
          ConditionExpression: 'attribute_not_exists(guardKey) OR attribute_exists(rejected)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    );
  }
  const newest = new Map<string, number>();
  for (const { item } of messages) newest.set(item.senderId, item.seq);
  const senderAt: Array<{ senderId: string; check: 'member' | 'read' | 'friend' }> = [];
  for (const [senderId, seq] of newest) {
    items.push(
      {
        ConditionCheck: {
          TableName: t.members,
          Key: { conversationId: snapshot.conversationId, userId: senderId },
          ConditionExpression: 'attribute_exists(userId)',
        },
      },
      {
        // Forward only by construction: seq is above the old lastSeq, and lastReadSeq never passes it.
        Update: {
          TableName: t.userConversations,
          Key: { userId: senderId, conversationId: snapshot.conversationId },
          UpdateExpression: 'SET lastReadSeq = :seq',
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeValues: { ':seq': seq },
        },
      },
    );
    senderAt.push({ senderId, check: 'member' }, { senderId, check: 'read' });
    const peerId = peerOf(senderId);
    if (peerId) {
      items.push({
        ConditionCheck: {
          TableName: t.friendships,
          Key: { userId: senderId, friendId: peerId },
          ConditionExpression: 'attribute_exists(friendId)',
        },
      });
      senderAt.push({ senderId, check: 'friend' });
    }
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
    const failed = (i: number) => reasons[i]?.code === 'ConditionalCheckFailed';
    const result = {
      ok: false as const,
      duplicates: new Map<number, number>(),
      notMembers: new Set<string>(),
      notFriends: new Set<string>(),
      stale: undefined as { current: ConversationItem | undefined } | undefined,
    };
    if (failed(0)) result.stale = { current: reasons[0]?.item as ConversationItem | undefined };
    messages.forEach((_, i) => {
      // A message slot already taken means the counter moved under us: treat as stale.
      if (failed(1 + 2 * i)) result.stale ??= { current: undefined };
      if (failed(2 + 2 * i)) {
        const old = reasons[2 + 2 * i]?.item as GuardItem | undefined;
        if (old?.seq !== undefined && !old.rejected) result.duplicates.set(i, old.seq);
      }
    });
    senderAt.forEach(({ senderId, check }, j) => {
      if (!failed(1 + 2 * messages.length + j)) return;
      if (check === 'friend') result.notFriends.add(senderId);
      else result.notMembers.add(senderId);
    });
    const anyCondition =
      result.stale || result.duplicates.size || result.notMembers.size || result.notFriends.size;
    if (!anyCondition) {
      if (isRetryableCancellation(reasons)) throw new RetryableError('batch lost a race', { cause: err });
      throw err;
    }
    return result;
  }
}

/**
 * Writes the held list alone (nothing to commit yet), on condition the sequencer's state is still the
 * snapshot's. Returns the conversation as it is now when it is not (another container moved it on).
 */
export async function saveHeld(
  snapshot: ConversationSnapshot,
  heldAfter: readonly HeldSend[],
  deps: Deps = {},
): Promise<{ ok: true } | { ok: false; current: ConversationItem | undefined }> {
  const { client, t } = env(deps);
  const state = sequencerCondition(snapshot);
  const held = heldUpdate(snapshot, heldAfter);
  try {
    await client.send(
      new UpdateCommand({
        TableName: t.conversations,
        Key: { conversationId: snapshot.conversationId },
        UpdateExpression: `SET lastSeq = lastSeq${held.set}${held.remove}`,
        ConditionExpression: `lastSeq = :prev AND ${state.expression}`,
        ExpressionAttributeValues: { ...state.values, ...held.values, ':prev': snapshot.lastSeq },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { ok: true };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    return { ok: false, current: err.Item ? (unmarshall(err.Item) as ConversationItem) : undefined };
  }
}

/**
 * Conversations whose sequencer holds sends (a scan: for recovery after a restart of a local queue
 * that kept nothing, never on a request path).
 */
export async function listConversationsWithHeldSends(deps: Deps = {}): Promise<string[]> {
  const { client, t } = env(deps);
  const ids: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: t.conversations,
        FilterExpression: 'attribute_exists(held)',
        ProjectionExpression: 'conversationId',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) ids.push(item.conversationId as string);
    start = page.LastEvaluatedKey;
  } while (start);
  return ids;
}

/** The guard of a sender's client message id, strongly consistent. */
export async function getGuard(
  conversationId: string,
  senderId: string,
  clientMessageId: string,
  deps: Deps = {},
): Promise<GuardItem | undefined> {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({
      TableName: t.messageGuards,
      Key: { conversationId, guardKey: guardKey(senderId, clientMessageId) },
      ConsistentRead: true,
    }),
  );
  return res.Item as GuardItem | undefined;
}

/** One message by seq, strongly consistent. */
export async function getMessage(conversationId: string, seq: number, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.messages, Key: { conversationId, seq }, ConsistentRead: true }),
  );
  return res.Item as MessageItem | undefined;
}

/** How long a refusal record lives: long enough for the waiting request, then TTL removes it. */
export const REJECTION_TTL_SECONDS = 3600;

/**
 * Records that the sequencer refused an attempt (never over a stored message's guard), so the HTTP
 * request waiting for it can answer with the reason.
 */
export async function recordRejection(
  conversationId: string,
  senderId: string,
  clientMessageId: string,
  attemptId: string,
  code: string,
  deps: Deps = {},
): Promise<void> {
  const { client, t } = env(deps);
  try {
    await client.send(
      new UpdateCommand({
        TableName: t.messageGuards,
        Key: { conversationId, guardKey: guardKey(senderId, clientMessageId) },
        UpdateExpression: 'SET rejected = :code, expiresAt = :exp ADD rejectedAttempts :attempt',
        ConditionExpression: 'attribute_not_exists(guardKey) OR attribute_exists(rejected)',
        ExpressionAttributeValues: {
          ':code': code,
          ':exp': Math.floor(Date.now() / 1000) + REJECTION_TTL_SECONDS,
          ':attempt': new Set([attemptId]),
        },
      }),
    );
  } catch (err) {
    // A stored message's guard is never turned into a refusal.
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
  }
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

/**
 * The messages of a conversation with `lo <= seq <= hi`, every page; strongly consistent unless
 * `consistent: false`. A Query is charged by the size it reads, so a dense range is far cheaper than
 * BatchGetItem's half unit per item.
 */
export async function listMessagesInSeqRange(
  conversationId: string,
  lo: number,
  hi: number,
  options: { consistent?: boolean } = {},
  deps: Deps = {},
): Promise<Record<string, unknown>[]> {
  const { client, t } = env(deps);
  return queryAll<Record<string, unknown>>(
    client,
    {
      TableName: t.messages,
      KeyConditionExpression: 'conversationId = :c AND seq BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':c': conversationId, ':lo': lo, ':hi': hi },
    },
    options,
  );
}
