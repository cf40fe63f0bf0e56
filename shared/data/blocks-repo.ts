import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from './batch-get.js';
import type { FriendRequestItem } from './friends-repo.js';
import { requestKeys } from './keys.js';
import { queryAll } from './scan.js';
import { transactWrite } from './transactions.js';

/** `userId` blocks `blockedId` since `createdAt`. */
export interface BlockItem {
  userId: string;
  blockedId: string;
  createdAt: string;
}

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

export type BlockResult =
  | { ok: true }
  | { ok: false; reason: 'already_blocked' | 'user_not_found' | 'changed' };

/**
 * One transaction: the block, the friendship removed both ways (as `DELETE /friends` does), and the
 * pending requests between the pair closed (`cancelled`, still pending as read). `changed` when a
 * pending request was closed meanwhile: read them again and retry.
 */
export async function putBlock(
  block: BlockItem,
  pending: readonly FriendRequestItem[],
  deps: Deps = {},
): Promise<BlockResult> {
  const { client, t } = env(deps);
  const { userId, blockedId, createdAt } = block;
  const closeRequest = (r: FriendRequestItem) => [
    {
      Update: {
        TableName: t.friendRequests,
        Key: requestKeys.record(r.requestId),
        UpdateExpression: 'SET #status = :cancelled, updatedAt = :now',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'cancelled', ':pending': 'pending', ':now': createdAt },
      },
    },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.incoming(r.toUserId, r.fromUserId) } },
    { Delete: { TableName: t.friendRequests, Key: requestKeys.outgoing(r.fromUserId, r.toUserId) } },
  ];
  const failed = await transactWrite(client, [
    {
      Put: {
        TableName: t.blocks,
        Item: { userId, blockedId, createdAt },
        ConditionExpression: 'attribute_not_exists(blockedId)',
      },
    },
    {
      ConditionCheck: {
        TableName: t.users,
        Key: { userId: blockedId },
        ConditionExpression: 'attribute_exists(userId) AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active' },
      },
    },
    { Delete: { TableName: t.friendships, Key: { userId, friendId: blockedId } } },
    { Delete: { TableName: t.friendships, Key: { userId: blockedId, friendId: userId } } },
    ...pending.flatMap(closeRequest),
  ]);
  if (!failed) return { ok: true };
  if (failed[0] === 'ConditionalCheckFailed') return { ok: false, reason: 'already_blocked' };
  if (failed[1] === 'ConditionalCheckFailed') return { ok: false, reason: 'user_not_found' };
  return { ok: false, reason: 'changed' };
}

/** Lifts a block; false when there was none. */
export async function deleteBlock(userId: string, blockedId: string, deps: Deps = {}): Promise<boolean> {
  const { client, t } = env(deps);
  const failed = await transactWrite(client, [
    {
      Delete: {
        TableName: t.blocks,
        Key: { userId, blockedId },
        ConditionExpression: 'attribute_exists(blockedId)',
      },
    },
  ]);
  return !failed;
}

/** Everyone a user blocks, strongly consistent (base table). */
export async function listBlocks(userId: string, deps: Deps = {}): Promise<BlockItem[]> {
  const { client, t } = env(deps);
  return queryAll<BlockItem>(client, {
    TableName: t.blocks,
    KeyConditionExpression: 'userId = :u',
    ExpressionAttributeValues: { ':u': userId },
  });
}

/** The block of `userId` on `blockedId`, if any (strongly consistent). */
export async function getBlock(userId: string, blockedId: string, deps: Deps = {}) {
  const { client, t } = env(deps);
  const res = await client.send(
    new GetCommand({ TableName: t.blocks, Key: { userId, blockedId }, ConsistentRead: true }),
  );
  return res.Item as BlockItem | undefined;
}

/** Which of `others` block `userId` or are blocked by it: one batch read of both directions. */
export async function blockedEitherWay(
  userId: string,
  others: readonly string[],
  deps: Deps = {},
): Promise<Set<string>> {
  const { client, t } = env(deps);
  const ids = [...new Set(others)].filter((id) => id !== userId);
  if (ids.length === 0) return new Set();
  const keys = ids.flatMap((other) => [
    { userId, blockedId: other },
    { userId: other, blockedId: userId },
  ]);
  const items = await batchGetAll<BlockItem>(client, t.blocks, keys);
  return new Set(items.map((item) => (item.userId === userId ? item.blockedId : item.userId)));
}
