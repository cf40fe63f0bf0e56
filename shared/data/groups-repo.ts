import type { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import type { ConversationItem, MemberItem } from './conversations-repo.js';
import { transactWrite } from './transactions.js';

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
