import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { requestKeys } from './keys.js';
import { queryAll, scanTable } from './scan.js';
import { transactWrite } from './transactions.js';

export type RequestStatus = 'pending' | 'accepted' | 'rejected' | 'cancelled';

export interface FriendRequestItem {
  requestId: string;
  fromUserId: string;
  toUserId: string;
  message: string;
  status: RequestStatus;
  createdAt: string;
  updatedAt: string;
  /** Set once accepted: the pair's direct conversation. */
  conversationId?: string;
}

export interface FriendshipItem {
  userId: string;
  friendId: string;
  conversationId: string;
  since: string;
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

export type CreateRequestResult =
  | { ok: true }
  | {
      ok: false;
      reason: 'recipient_not_found' | 'already_friends' | 'request_pending' | 'reverse_pending' | 'blocked';
    };

/** Neither of the pair blocks the other: checked inside the transactions that befriend. */
const notBlocked = (t: Config['tables'], a: string, b: string) =>
  [
    [a, b],
    [b, a],
  ].map(([userId, blockedId]) => ({
    ConditionCheck: {
      TableName: t.blocks,
      Key: { userId, blockedId },
      ConditionExpression: 'attribute_not_exists(blockedId)',
    },
  }));

/**
 * Stores a pending request with its two list entries. Conditions: the recipient is active, the pair are
 * not friends, neither side has a pending request to the other (the pending entries double as the
 * pair's lock, so crossing requests cannot both be stored).
 */
export async function createRequest(r: FriendRequestItem, deps: Deps = {}): Promise<CreateRequestResult> {
  const { client, t } = env(deps);
  const view = {
    requestId: r.requestId,
    fromUserId: r.fromUserId,
    toUserId: r.toUserId,
    message: r.message,
    createdAt: r.createdAt,
  };
  const failed = await transactWrite(client, [
    {
      ConditionCheck: {
        TableName: t.users,
        Key: { userId: r.toUserId },
        ConditionExpression: 'attribute_exists(userId) AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active' },
      },
    },
    {
      ConditionCheck: {
        TableName: t.friendships,
        Key: { userId: r.fromUserId, friendId: r.toUserId },
        ConditionExpression: 'attribute_not_exists(friendId)',
      },
    },
    {
      Put: {
        TableName: t.friendRequests,
        Item: { ...requestKeys.outgoing(r.fromUserId, r.toUserId), ...view },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      ConditionCheck: {
        TableName: t.friendRequests,
        Key: requestKeys.incoming(r.fromUserId, r.toUserId),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Put: {
        TableName: t.friendRequests,
        Item: { ...requestKeys.incoming(r.toUserId, r.fromUserId), ...view },
      },
    },
    {
      Put: {
        TableName: t.friendRequests,
        Item: { ...requestKeys.record(r.requestId), ...r },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    ...notBlocked(t, r.fromUserId, r.toUserId),
  ]);
  if (!failed) return { ok: true };
  if (failed[0] === 'ConditionalCheckFailed') return { ok: false, reason: 'recipient_not_found' };
  if (failed[1] === 'ConditionalCheckFailed') return { ok: false, reason: 'already_friends' };
  if (failed[2] === 'ConditionalCheckFailed') return { ok: false, reason: 'request_pending' };
  if (failed[3] === 'ConditionalCheckFailed') return { ok: false, reason: 'reverse_pending' };
  if (failed[6] === 'ConditionalCheckFailed' || failed[7] === 'ConditionalCheckFailed')
    return { ok: false, reason: 'blocked' };
  throw new Error(`Unexpected cancellation reasons ${failed.join(',')}`);
}

/** Reads a request record strongly consistently. */
export async function getRequest(requestId: string, deps: Deps = {}): Promise<FriendRequestItem | undefined> {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.friendRequests, Key: requestKeys.record(requestId), ConsistentRead: true }),
  );
  if (!res.Item) return undefined;
  const { pk: _pk, sk: _sk, ...item } = res.Item;
  return item as FriendRequestItem;
}

/** The id of a pending request from `fromUserId` to `toUserId`, if there is one. */
export async function pendingRequestId(fromUserId: string, toUserId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({
      TableName: t.friendRequests,
      Key: requestKeys.incoming(toUserId, fromUserId),
      ConsistentRead: true,
    }),
  );
  return res.Item?.requestId as string | undefined;
}

export type AcceptResult =
  | { ok: true }
  | { ok: false; reason: 'not_pending' | 'already_friends' | 'user_inactive' | 'blocked' };

/**
 * Accept, as one transaction: the request closed (if still pending), the friendship both ways (if not
 * already friends), the pair's direct conversation created or reopened, both memberships and both
 * per-user list entries. Re-running it on an existing conversation keeps its history and counters.
 */
export async function acceptRequest(
  r: FriendRequestItem,
  conversationId: string,
  now: string,
  deps: Deps = {},
): Promise<AcceptResult> {
  const { client, t } = env(deps);
  const [a, b] = [r.fromUserId, r.toUserId];
  const friendship = (userId: string, friendId: string) => ({
    Put: {
      TableName: t.friendships,
      Item: { userId, friendId, conversationId, since: now },
      ConditionExpression: 'attribute_not_exists(friendId)',
    },
  });
  const membership = (userId: string) => ({
    Update: {
      TableName: t.members,
      Key: { conversationId, userId },
      UpdateExpression: 'SET #role = if_not_exists(#role, :member), joinedAt = if_not_exists(joinedAt, :now)',
      ExpressionAttributeNames: { '#role': 'role' },
      ExpressionAttributeValues: { ':member': 'member', ':now': now },
    },
  });
  const listEntry = (userId: string) => ({
    Update: {
      TableName: t.userConversations,
      Key: { userId, conversationId },
      UpdateExpression:
        'SET #type = :direct, joinedAt = if_not_exists(joinedAt, :now), lastReadSeq = if_not_exists(lastReadSeq, :zero)',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: { ':direct': 'direct', ':now': now, ':zero': 0 },
    },
  });
  const failed = await transactWrite(client, [
    {
      Update: {
        TableName: t.friendRequests,
        Key: requestKeys.record(r.requestId),
        UpdateExpression: 'SET #status = :accepted, updatedAt = :now, conversationId = :conv',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':accepted': 'accepted',
          ':pending': 'pending',
          ':now': now,
          ':conv': conversationId,
        },
      },
    },
    friendship(a, b),
    friendship(b, a),
    {
      ConditionCheck: {
        TableName: t.users,
        Key: { userId: a },
        ConditionExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active' },
      },
    },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.incoming(b, a) } },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.outgoing(a, b) } },
    {
      Update: {
        TableName: t.conversations,
        Key: { conversationId },
        UpdateExpression:
          'SET #type = :direct, memberIds = :pair, memberCount = :two, #status = :active, ' +
          'createdAt = if_not_exists(createdAt, :now), lastSeq = if_not_exists(lastSeq, :zero), ' +
          'lastActivityAt = if_not_exists(lastActivityAt, :now) ADD version :one',
        ExpressionAttributeNames: { '#type': 'type', '#status': 'status' },
        ExpressionAttributeValues: {
          ':direct': 'direct',
          ':pair': [a, b].sort(),
          ':two': 2,
          ':active': 'active',
          ':now': now,
          ':zero': 0,
          ':one': 1,
        },
      },
    },
    membership(a),
    membership(b),
    listEntry(a),
    listEntry(b),
    ...notBlocked(t, a, b),
  ]);
  if (!failed) return { ok: true };
  if (failed[0] === 'ConditionalCheckFailed') return { ok: false, reason: 'not_pending' };
  if (failed[1] === 'ConditionalCheckFailed' || failed[2] === 'ConditionalCheckFailed') {
    return { ok: false, reason: 'already_friends' };
  }
  if (failed[3] === 'ConditionalCheckFailed') return { ok: false, reason: 'user_inactive' };
  if (failed[11] === 'ConditionalCheckFailed' || failed[12] === 'ConditionalCheckFailed')
    return { ok: false, reason: 'blocked' };
  throw new Error(`Unexpected cancellation reasons ${failed.join(',')}`);
}

/** Rejects or cancels a pending request and removes its list entries; false if it was not pending. */
export async function closeRequest(
  r: FriendRequestItem,
  status: 'rejected' | 'cancelled',
  now: string,
  deps: Deps = {},
): Promise<boolean> {
  const { client, t } = env(deps);
  const failed = await transactWrite(client, [
    {
      Update: {
        TableName: t.friendRequests,
        Key: requestKeys.record(r.requestId),
        UpdateExpression: 'SET #status = :status, updatedAt = :now',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status, ':pending': 'pending', ':now': now },
      },
    },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.incoming(r.toUserId, r.fromUserId) } },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.outgoing(r.fromUserId, r.toUserId) } },
  ]);
  return !failed;
}

/**
 * Ends a friendship both ways atomically. The direct conversation, its members and its history stay:
 * sending is refused until the pair are friends again, and then the same conversation is reused.
 */
export async function removeFriendship(userId: string, friendId: string, deps: Deps = {}): Promise<boolean> {
  const { client, t } = env(deps);
  const remove = (u: string, f: string) => ({
    Delete: {
      TableName: t.friendships,
      Key: { userId: u, friendId: f },
      ConditionExpression: 'attribute_exists(friendId)',
    },
  });
  const failed = await transactWrite(client, [remove(userId, friendId), remove(friendId, userId)]);
  return !failed;
}

/** A user's friendships, strongly consistent (base table, not an index). */
export async function listFriendships(userId: string, deps: Deps = {}): Promise<FriendshipItem[]> {
  const { client, t } = env(deps);
  return queryAll<FriendshipItem>(client, {
    TableName: t.friendships,
    KeyConditionExpression: 'userId = :u',
    ExpressionAttributeValues: { ':u': userId },
  });
}

/** The friendship row from `userId` to `friendId`, if any. */
export async function getFriendship(userId: string, friendId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.friendships, Key: { userId, friendId }, ConsistentRead: true }),
  );
  return res.Item as FriendshipItem | undefined;
}

/** Pending requests to (`incoming`) or from (`outgoing`) a user, strongly consistent. */
export async function listPendingRequests(
  userId: string,
  direction: 'incoming' | 'outgoing',
  deps: Deps = {},
): Promise<FriendRequestItem[]> {
  const { client, t } = env(deps);
  const items = await queryAll<Record<string, unknown>>(client, {
    TableName: t.friendRequests,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: {
      ':pk': requestKeys.entries(userId, direction).pk,
      ':prefix': requestKeys.entries(userId, direction).skPrefix,
    },
  });
  return items.map(({ pk: _pk, sk: _sk, ...rest }) => ({ ...rest, status: 'pending' }) as FriendRequestItem);
}

/** How many pending requests a user has in one direction (a COUNT query: no items are returned). */
export async function countPendingRequests(
  userId: string,
  direction: 'incoming' | 'outgoing',
  deps: Deps = {},
): Promise<number> {
  const { client, t } = env(deps);
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await client.send(
      new QueryCommand({
        TableName: t.friendRequests,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': requestKeys.entries(userId, direction).pk,
          ':prefix': requestKeys.entries(userId, direction).skPrefix,
        },
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return count;
}

/** Every friendship row (both directions), strongly consistent; for checkers, never request paths. */
export async function scanFriendships(deps: Deps = {}): Promise<FriendshipItem[]> {
  const { client, t } = env(deps);
  return scanTable<FriendshipItem>(client, t.friendships);
}

/** A pending request's list entry, read back from its key. */
export interface PendingRequestEntry {
  /** The entry's stored key as `pk|sk`, for reports. */
  key: string;
  requestId: string;
  /** Whose list holds the entry. */
  userId: string;
  direction: 'incoming' | 'outgoing' | undefined;
  /** The request's other side. */
  otherUserId: string | undefined;
}

/**
 * Every request record and every pending list entry, strongly consistent; for checkers, never
 * request paths.
 */
export async function scanFriendRequests(
  deps: Deps = {},
): Promise<{ records: FriendRequestItem[]; entries: PendingRequestEntry[] }> {
  const { client, t } = env(deps);
  const items = await scanTable<Record<string, unknown>>(client, t.friendRequests);
  const records = items.filter(requestKeys.isRecord) as unknown as FriendRequestItem[];
  const entries = items
    .filter((i) => !requestKeys.isRecord(i))
    .map((i) => ({
      key: `${String(i.pk)}|${String(i.sk)}`,
      requestId: String(i.requestId),
      ...requestKeys.parseEntry(i),
    }));
  return { records, entries };
}
