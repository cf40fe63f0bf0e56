import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from './batch-get.js';
import type { StoredMessageSummary } from './conversations-repo.js';
import type { MessageItem } from './messages-repo.js';
import { queryAll } from './scan.js';
import { transactWrite } from './transactions.js';

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

/** The head item of a conversation's change list sits at change number 0 (real changes start at 1). */
const HEAD = 0;

/** A row of the change list: the message at `seq` changed last at `changeSeq`. */
export interface ChangeRow {
  conversationId: string;
  changeSeq: number;
  seq: number;
}

/** A stored reaction: its existence is the rule "one of each emoji per user per message". */
export interface ReactionItem {
  reactorKey: string;
  reactionKey: string;
  conversationId: string;
  seq: number;
  userId: string;
  emoji: string;
  createdAt: string;
}

const reactorKey = (conversationId: string, userId: string) => `${conversationId}#${userId}`;
/** Seq padded to 12 digits so that a user's reactions sort by message (seq < 10^12). */
const seqPrefix = (seq: number) => String(seq).padStart(12, '0');
const reactionKey = (seq: number, emoji: string) => `${seqPrefix(seq)}#${emoji}`;

/** The conversation's last change number (0 before the first change), strongly consistent. */
export async function getLastChangeSeq(conversationId: string, deps: Deps = {}): Promise<number> {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({
      TableName: t.messageChanges,
      Key: { conversationId, changeSeq: HEAD },
      ConsistentRead: true,
    }),
  );
  return (res.Item?.lastChangeSeq as number | undefined) ?? 0;
}

/** Change rows after a change number, ascending, strongly consistent, with whether more follow. */
export async function listChangeRows(
  conversationId: string,
  afterChangeSeq: number,
  limit: number,
  deps: Deps = {},
): Promise<{ rows: ChangeRow[]; hasMore: boolean }> {
  const { client, t } = env(deps);
  const res = await client.send(
    new QueryCommand({
      TableName: t.messageChanges,
      KeyConditionExpression: 'conversationId = :c AND changeSeq > :after',
      ExpressionAttributeValues: { ':c': conversationId, ':after': Math.max(HEAD, afterChangeSeq) },
      ConsistentRead: true,
      Limit: limit + 1,
    }),
  );
  const rows = (res.Items ?? []) as ChangeRow[];
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** Messages by seq (strongly consistent); absent seqs are missing from the map. */
export async function getMessagesBySeq(
  conversationId: string,
  seqs: readonly number[],
  deps: Deps = {},
): Promise<Map<number, MessageItem>> {
  const { client, t } = env(deps);
  const unique = [...new Set(seqs)];
  const items = await batchGetAll<MessageItem>(
    client,
    t.messages,
    unique.map((seq) => ({ conversationId, seq })),
  );
  return new Map(items.map((m) => [m.seq, m]));
}

/** Whether a user has reacted with an emoji to a message, strongly consistent. */
export async function hasReaction(
  conversationId: string,
  userId: string,
  seq: number,
  emoji: string,
  deps: Deps = {},
): Promise<boolean> {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({
      TableName: t.reactions,
      Key: { reactorKey: reactorKey(conversationId, userId), reactionKey: reactionKey(seq, emoji) },
      ConsistentRead: true,
    }),
  );
  return res.Item !== undefined;
}

/** A user's own reactions to the messages from `fromSeq` to `toSeq`, by seq (one query). */
export async function listOwnReactions(
  conversationId: string,
  userId: string,
  fromSeq: number,
  toSeq: number,
  deps: Deps = {},
): Promise<Map<number, string[]>> {
  const { client, t } = env(deps);
  const items = await queryAll<ReactionItem>(client, {
    TableName: t.reactions,
    KeyConditionExpression: 'reactorKey = :r AND reactionKey BETWEEN :lo AND :hi',
    ExpressionAttributeValues: {
      ':r': reactorKey(conversationId, userId),
      ':lo': `${seqPrefix(fromSeq)}#`,
      // '$' sorts right after '#': every key of toSeq is below it.
      ':hi': `${seqPrefix(toSeq)}$`,
    },
  });
  const out = new Map<number, string[]>();
  for (const r of items) out.set(r.seq, [...(out.get(r.seq) ?? []), r.emoji]);
  return out;
}

/** One change to a stored message, as the domain decided it from what it read. */
export interface MessageChange {
  actorId: string;
  /** The message as read: its `changeSeq` is the condition that nothing changed it since. */
  before: MessageItem;
  /** The conversation's last change number as read: this change takes the next one. */
  lastChangeSeq: number;
  /** Attributes to set on the message (`changeSeq` is added). */
  set: Record<string, unknown>;
  /** Attributes to remove from the message. */
  remove?: readonly string[];
  /** Replaces the conversation's last-message summary, on condition that it still shows this seq. */
  summary?: StoredMessageSummary;
  /** The actor must be the group's owner (else any member). */
  asOwner?: boolean;
  /** Direct conversations: the actor must still be friends with this user. */
  peerId?: string;
  /** Adds or removes the actor's reaction item, on condition it was absent (present). */
  reaction?: { op: 'add' | 'remove'; emoji: string };
}

/**
 * `committed`; `stale` when the message, the change counter, the summary or the reaction moved since
 * they were read (read again and retry); otherwise the check that failed.
 */
export type ChangeOutcome = 'committed' | 'stale' | 'not_a_member' | 'not_owner' | 'not_friends';

/**
 * Commits one change to a message in ONE transaction: the conversation's change counter moves from the
 * number read to the next (so changes commit in the order of their numbers and a sync token never
 * skips one), the message gets the change and that number, the change list's row of the message moves
 * to it, the actor's membership (and friendship, or ownership) is checked, and, as asked, the
 * last-message summary and the actor's reaction item are written. Lost races throw RetryableError.
 */
export async function commitMessageChange(change: MessageChange, deps: Deps = {}): Promise<ChangeOutcome> {
  const { client, t } = env(deps);
  const { before } = change;
  const { conversationId, seq } = before;
  const next = change.lastChangeSeq + 1;
  // The message and the counter are read in parallel: a message already at (or past) the next number
  // was changed after the counter was read. Both reads are stale; the transaction would also name that
  // change row twice (its Put and its Delete), which DynamoDB refuses as a ValidationException.
  if (before.changeSeq !== undefined && before.changeSeq >= next) return 'stale';
  const set = { ...change.set, changeSeq: next };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const setClauses = Object.entries(set).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  const removeClauses = (change.remove ?? []).map((name, i) => {
    names[`#r${i}`] = name;
    return `#r${i}`;
  });
  let condition = 'attribute_exists(seq) AND attribute_not_exists(changeSeq)';
  if (before.changeSeq !== undefined) {
    condition = 'changeSeq = :prevChange';
    values[':prevChange'] = before.changeSeq;
  }
  type Items = Parameters<typeof transactWrite>[1];
  const items: Items = [];
  const tags: Array<ChangeOutcome> = [];
  const push = (item: Items[number], failure: ChangeOutcome) => {
    items.push(item);
    tags.push(failure);
  };
  push(
    {
      Update: {
        TableName: t.messageChanges,
        Key: { conversationId, changeSeq: HEAD },
        UpdateExpression: 'SET lastChangeSeq = :next',
        ConditionExpression:
          change.lastChangeSeq === 0 ? 'attribute_not_exists(lastChangeSeq)' : 'lastChangeSeq = :prev',
        ExpressionAttributeValues: {
          ':next': next,
          ...(change.lastChangeSeq === 0 ? {} : { ':prev': change.lastChangeSeq }),
        },
      },
    },
    'stale',
  );
  push(
    {
      Update: {
        TableName: t.messages,
        Key: { conversationId, seq },
        UpdateExpression: `SET ${setClauses.join(', ')}${removeClauses.length ? ` REMOVE ${removeClauses.join(', ')}` : ''}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    'stale',
  );
  push({ Put: { TableName: t.messageChanges, Item: { conversationId, changeSeq: next, seq } } }, 'stale');
  if (before.changeSeq !== undefined) {
    push(
      { Delete: { TableName: t.messageChanges, Key: { conversationId, changeSeq: before.changeSeq } } },
      'stale',
    );
  }
  push(
    {
      ConditionCheck: {
        TableName: t.members,
        Key: { conversationId, userId: change.actorId },
        ConditionExpression: change.asOwner ? '#role = :owner' : 'attribute_exists(userId)',
        ...(change.asOwner
          ? {
              ExpressionAttributeNames: { '#role': 'role' },
              ExpressionAttributeValues: { ':owner': 'owner' },
            }
          : {}),
      },
    },
    change.asOwner ? 'not_owner' : 'not_a_member',
  );
  if (change.peerId) {
    push(
      {
        ConditionCheck: {
          TableName: t.friendships,
          Key: { userId: change.actorId, friendId: change.peerId },
          ConditionExpression: 'attribute_exists(friendId)',
        },
      },
      'not_friends',
    );
  }
  if (change.summary) {
    push(
      {
        Update: {
          TableName: t.conversations,
          Key: { conversationId },
          UpdateExpression: 'SET lastMessage = :summary',
          ConditionExpression: 'lastMessage.seq = :seq',
          ExpressionAttributeValues: { ':summary': change.summary, ':seq': seq },
        },
      },
      'stale',
    );
  }
  if (change.reaction) {
    const key = {
      reactorKey: reactorKey(conversationId, change.actorId),
      reactionKey: reactionKey(seq, change.reaction.emoji),
    };
    push(
      change.reaction.op === 'add'
        ? {
            Put: {
              TableName: t.reactions,
              Item: {
                ...key,
                conversationId,
                seq,
                userId: change.actorId,
                emoji: change.reaction.emoji,
                createdAt: new Date().toISOString(),
              } satisfies ReactionItem,
              ConditionExpression: 'attribute_not_exists(reactionKey)',
            },
          }
        : {
            Delete: {
              TableName: t.reactions,
              Key: key,
              ConditionExpression: 'attribute_exists(reactionKey)',
            },
          },
      'stale',
    );
  }
  const codes = await transactWrite(client, items);
  if (!codes) return 'committed';
  // A refused check outranks a lost race: retrying would only meet it again.
  const failed = tags.filter((_, i) => codes[i] === 'ConditionalCheckFailed');
  return failed.find((f) => f !== 'stale') ?? 'stale';
}
