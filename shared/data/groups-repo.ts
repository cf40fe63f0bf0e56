import { PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import type { ConversationItem, MemberItem } from './conversations-repo.js';
import {
  cancellationReasons,
  conditionalWrite,
  isRetryableCancellation,
  transactWrite,
} from './transactions.js';

/** DynamoDB's limit on items in one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;
/**
 * Members (owner included) of a group created in one transaction: the conversation item plus two items
 * per member (membership and the member's list entry) must fit in one transaction.
 */
export const MAX_GROUP_MEMBERS_IN_ONE_TRANSACTION = Math.floor((MAX_TRANSACTION_ITEMS - 1) / 2);
/** Members added per transaction by the CreateGroup saga: two items each, plus the group's condition check. */
export const CREATE_GROUP_CHUNK = MAX_GROUP_MEMBERS_IN_ONE_TRANSACTION;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
}
const env = (deps: Deps) => ({ client: deps.client ?? defaultClient, t: deps.tables ?? config().tables });

function memberItems(t: Config['tables'], members: readonly MemberItem[]): TransactItems {
  return members.flatMap((m) => [
    { Put: { TableName: t.members, Item: m, ConditionExpression: 'attribute_not_exists(userId)' } },
    {
      Put: {
        TableName: t.userConversations,
        Item: {
          userId: m.userId,
          conversationId: m.conversationId,
          type: 'group',
          joinedAt: m.joinedAt,
          lastReadSeq: 0,
        },
      },
    },
  ]);
}

/** Creates a group, every membership and every member's list entry in one transaction. */
export async function createGroupAtomically(
  conversation: ConversationItem,
  members: readonly MemberItem[],
  deps: Deps = {},
): Promise<void> {
  const { client, t } = env(deps);
  const failed = await transactWrite(client, [
    {
      Put: {
        TableName: t.conversations,
        Item: conversation,
        ConditionExpression: 'attribute_not_exists(conversationId)',
      },
    },
    ...memberItems(t, members),
  ]);
  if (failed) throw new Error(`group creation cancelled: ${failed.join(',')}`);
}

export type MembershipChange =
  | { ok: true }
  | { ok: false; reason: 'stale' | 'already_member' | 'not_member' };

/**
 * Adds members: the new memberships and list entries, and the conversation's member count and
 * version, on condition that the version is still the one the caller read.
 */
export async function addGroupMembers(
  conversation: ConversationItem,
  members: readonly MemberItem[],
  deps: Deps = {},
): Promise<MembershipChange> {
  const { client, t } = env(deps);
  const failed = await transactWrite(client, [
    {
      Update: {
        TableName: t.conversations,
        Key: { conversationId: conversation.conversationId },
        UpdateExpression: 'SET memberCount = memberCount + :n, version = version + :one',
        ConditionExpression: 'version = :v AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':n': members.length,
          ':one': 1,
          ':v': conversation.version,
          ':active': 'active',
        },
      },
    },
    ...memberItems(t, members),
  ]);
  if (!failed) return { ok: true };
  if (failed[0] === 'ConditionalCheckFailed') return { ok: false, reason: 'stale' };
  return { ok: false, reason: 'already_member' };
}

/**
 * Removes one member (membership and list entry) and, when the owner leaves, hands ownership to
 * `newOwnerId`; the last member leaving closes the group.
 */
export async function removeGroupMember(
  conversation: ConversationItem,
  userId: string,
  newOwnerId: string | undefined,
  deps: Deps = {},
): Promise<MembershipChange> {
  const { client, t } = env(deps);
  const closing = conversation.memberCount <= 1;
  const items: TransactItems = [
    {
      Update: {
        TableName: t.conversations,
        Key: { conversationId: conversation.conversationId },
        UpdateExpression: `SET memberCount = memberCount - :one, version = version + :one${
          newOwnerId ? ', ownerId = :owner' : ''
        }${closing ? ', #status = :closed' : ''}`,
        ConditionExpression: 'version = :v',
        ExpressionAttributeNames: closing ? { '#status': 'status' } : undefined,
        ExpressionAttributeValues: {
          ':one': 1,
          ':v': conversation.version,
          ...(newOwnerId ? { ':owner': newOwnerId } : {}),
          ...(closing ? { ':closed': 'closed' } : {}),
        },
      },
    },
    {
      Delete: {
        TableName: t.members,
        Key: { conversationId: conversation.conversationId, userId },
        ConditionExpression: 'attribute_exists(userId)',
      },
    },
    {
      Delete: {
        TableName: t.userConversations,
        Key: { userId, conversationId: conversation.conversationId },
      },
    },
  ];
  if (newOwnerId) {
    items.push({
      Update: {
        TableName: t.members,
        Key: { conversationId: conversation.conversationId, userId: newOwnerId },
        UpdateExpression: 'SET #role = :owner',
        ConditionExpression: 'attribute_exists(userId)',
        ExpressionAttributeNames: { '#role': 'role' },
        ExpressionAttributeValues: { ':owner': 'owner' },
      },
    });
  }
  const failed = await transactWrite(client, items);
  if (!failed) return { ok: true };
  if (failed[0] === 'ConditionalCheckFailed' || failed[3] === 'ConditionalCheckFailed')
    return { ok: false, reason: 'stale' };
  return { ok: false, reason: 'not_member' };
}

/*
 * The CreateGroup saga's writes: the group is created `creating` (invisible, refusing messages), filled
 * chunk by chunk, then opened; a failure marks it `failed` and strips it again. Every write is
 * conditioned on the group's state, so a step re-run by the state machine or the reconciler is a no-op.
 */

/** A saga write that only lost a race (retry it) or found the group in a state that refuses it. */
export type SagaWriteResult = { ok: true } | { ok: false; reason: 'retry' | 'refused' };

function sagaResult(err: unknown): SagaWriteResult {
  const reasons = cancellationReasons(err);
  if (!reasons) throw err;
  return { ok: false, reason: isRetryableCancellation(reasons) ? 'retry' : 'refused' };
}

/**
 * Writes the group `creating`, tagged with its operation; re-running it for the same operation is a
 * no-op. Resolves false when the conversation id is already used by something else.
 */
export async function createPendingGroup(
  conversation: ConversationItem & { operationId: string },
  deps: Deps = {},
): Promise<boolean> {
  const { client, t } = env(deps);
  return conditionalWrite(
    client,
    new PutCommand({
      TableName: t.conversations,
      Item: conversation,
      ConditionExpression: 'attribute_not_exists(conversationId) OR operationId = :op',
      ExpressionAttributeValues: { ':op': conversation.operationId },
    }),
  );
}

/**
 * Adds one chunk of members (memberships and list entries, `ownerId` as owner) in one transaction,
 * conditioned on the group still being `creating`. Puts are idempotent: a retried chunk does no second
 * work. At most CREATE_GROUP_CHUNK users.
 */
export async function addMembersWhileCreating(
  input: { conversationId: string; ownerId: string; createdAt: string; userIds: readonly string[] },
  deps: Deps = {},
): Promise<SagaWriteResult> {
  const { client, t } = env(deps);
  const { conversationId, createdAt } = input;
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: t.conversations,
              Key: { conversationId },
              ConditionExpression: '#status = :creating',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':creating': 'creating' },
            },
          },
          ...input.userIds.flatMap((userId) => [
            {
              Put: {
                TableName: t.members,
                Item: {
                  conversationId,
                  userId,
                  role: userId === input.ownerId ? 'owner' : 'member',
                  joinedAt: createdAt,
                },
              },
            },
            {
              Put: {
                TableName: t.userConversations,
                Item: { userId, conversationId, type: 'group', joinedAt: createdAt, lastReadSeq: 0 },
              },
            },
          ]),
        ],
      }),
    );
    return { ok: true };
  } catch (err) {
    return sagaResult(err);
  }
}

/**
 * Opens a `creating` group with its final member count (idempotent on an active group). Resolves false
 * when the group was failed meanwhile.
 */
export async function activateGroup(conversationId: string, memberCount: number, deps: Deps = {}) {
  const { client, t } = env(deps);
  return conditionalWrite(
    client,
    new UpdateCommand({
      TableName: t.conversations,
      Key: { conversationId },
      UpdateExpression: 'SET #status = :active, memberCount = :n, version = version + :one',
      ConditionExpression: '#status IN (:creating, :active)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':active': 'active',
        ':creating': 'creating',
        ':n': memberCount,
        ':one': 1,
      },
    }),
  );
}

/**
 * Marks a group `failed` unless it is active, so no chunk still in flight can add members after the
 * clean-up. Resolves false when the condition failed: the group is active, or was never created.
 */
export async function markGroupFailed(conversationId: string, deps: Deps = {}): Promise<boolean> {
  const { client, t } = env(deps);
  return conditionalWrite(
    client,
    new UpdateCommand({
      TableName: t.conversations,
      Key: { conversationId },
      UpdateExpression: 'SET #status = :failed',
      ConditionExpression: 'attribute_exists(conversationId) AND #status <> :active',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':failed': 'failed', ':active': 'active' },
    }),
  );
}

/** Members removed per transaction when a failed group is stripped: two deletes each plus the check. */
const STRIP_PAGE = 49;

/**
 * Removes every membership and list entry of a group that is not active, a page at a time, each page
 * in a transaction that re-checks the group is not active, so an opened group is never stripped.
 * Idempotent; `refused` means the group is active.
 */
export async function removeMembersUnlessActive(
  conversationId: string,
  deps: Deps = {},
): Promise<SagaWriteResult> {
  const { client, t } = env(deps);
  for (;;) {
    const page = await client.send(
      new QueryCommand({
        TableName: t.members,
        KeyConditionExpression: 'conversationId = :c',
        ExpressionAttributeValues: { ':c': conversationId },
        ConsistentRead: true,
        Limit: STRIP_PAGE,
      }),
    );
    const userIds = (page.Items ?? []).map((m) => m.userId as string);
    if (userIds.length === 0) return { ok: true };
    try {
      await client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: t.conversations,
                Key: { conversationId },
                ConditionExpression: 'attribute_not_exists(conversationId) OR #status <> :active',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':active': 'active' },
              },
            },
            ...userIds.flatMap((userId) => [
              { Delete: { TableName: t.members, Key: { conversationId, userId } } },
              { Delete: { TableName: t.userConversations, Key: { userId, conversationId } } },
            ]),
          ],
        }),
      );
    } catch (err) {
      return sagaResult(err);
    }
  }
}
