import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients/dynamodb.js';
import { config } from '../config/env.js';
import { type ConversationItem, getConversation, listMembers } from '../data/conversations-repo.js';
import { setOperationStatus } from '../data/operations-repo.js';
import { cancellationReasons, isRetryableCancellation } from '../data/transactions.js';
import { toConversation } from '../domain/conversations.js';
import { describeSagaError } from '../domain/operation-errors.js';
import { pushToUsers } from '../domain/push.js';
import { emitSagaOutcome } from '../metrics.js';
import { BusinessError, TransientError } from './step-errors.js';

/** What the CreateGroup state machine carries from step to step. */
export interface CreateGroupInput {
  operationId: string;
  conversationId: string;
  ownerId: string;
  name: string;
  /** Every member, the owner first, split into chunks that each fit one transaction. */
  chunks: string[][];
  createdAt: string;
  error?: { Error?: string; Cause?: string };
}

const t = () => config().tables;

/**
 * Step 1: the conversation, in state `creating` (invisible to members, refusing messages). Re-running it
 * for the same operation is a no-op.
 */
export async function createConversation(input: CreateGroupInput): Promise<void> {
  const item: ConversationItem & { operationId: string } = {
    conversationId: input.conversationId,
    type: 'group',
    name: input.name,
    ownerId: input.ownerId,
    memberCount: 0,
    lastSeq: 0,
    status: 'creating',
    createdAt: input.createdAt,
    lastActivityAt: input.createdAt,
    version: 1,
    operationId: input.operationId,
  };
  try {
    await ddb.send(
      new PutCommand({
        TableName: t().conversations,
        Item: item,
        ConditionExpression: 'attribute_not_exists(conversationId) OR operationId = :op',
        ExpressionAttributeValues: { ':op': input.operationId },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException)
      throw new BusinessError('conversation id already in use');
    throw err;
  }
}

/**
 * Step 2 (once per chunk): the chunk's memberships and list entries in one transaction, conditioned on
 * the group still being `creating`. Puts are idempotent, so a retried chunk does no second work.
 */
export async function addChunk(
  input: Pick<CreateGroupInput, 'conversationId' | 'ownerId' | 'createdAt'> & { userIds: string[] },
) {
  const { conversationId, createdAt } = input;
  try {
    await ddb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            ConditionCheck: {
              TableName: t().conversations,
              Key: { conversationId },
              ConditionExpression: '#status = :creating',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':creating': 'creating' },
            },
          },
          ...input.userIds.flatMap((userId) => [
            {
              Put: {
                TableName: t().members,
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
                TableName: t().userConversations,
                Item: { userId, conversationId, type: 'group', joinedAt: createdAt, lastReadSeq: 0 },
              },
            },
          ]),
        ],
      }),
    );
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (isRetryableCancellation(reasons)) throw new TransientError('chunk lost a race');
    throw new BusinessError('the group is no longer being created');
  }
}

/** Step 3: counts the members and opens the group; from here on the saga only moves forward. */
export async function activate(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  const count = (await listMembers(input.conversationId)).length;
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: t().conversations,
        Key: { conversationId: input.conversationId },
        UpdateExpression: 'SET #status = :active, memberCount = :n, version = version + :one',
        ConditionExpression: '#status IN (:creating, :active)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':active': 'active', ':creating': 'creating', ':n': count, ':one': 1 },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException)
      throw new BusinessError('the group was failed meanwhile');
    throw err;
  }
}

/** Step 4: tells every member (best effort; clients also see it in their list). */
export async function notify(
  input: Pick<CreateGroupInput, 'conversationId' | 'chunks' | 'name'>,
): Promise<void> {
  const conversation = await getConversation(input.conversationId);
  if (!conversation) return;
  const view = toConversation(conversation, { lastReadSeq: 0 });
  const members = input.chunks.flat();
  for (let i = 0; i < members.length; i += 100) {
    await pushToUsers(members.slice(i, i + 100), { type: 'conversationCreated', conversation: view });
  }
}

/** Step 5: the operation succeeded. */
export async function complete(input: Pick<CreateGroupInput, 'operationId'>): Promise<void> {
  if (await setOperationStatus(input.operationId, 'succeeded', null, ['running']))
    emitSagaOutcome('createGroup', 'succeeded');
}

/**
 * Compensation 2: removes every membership and list entry added so far, in transactions that each
 * re-check the group is not active, so an opened group is never stripped. Idempotent.
 */
export async function removeMembers(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  const { conversationId } = input;
  for (;;) {
    const page = await ddb.send(
      new QueryCommand({
        TableName: t().members,
        KeyConditionExpression: 'conversationId = :c',
        ExpressionAttributeValues: { ':c': conversationId },
        ConsistentRead: true,
        Limit: 49,
      }),
    );
    const userIds = (page.Items ?? []).map((m) => m.userId as string);
    if (userIds.length === 0) return;
    try {
      await ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: t().conversations,
                Key: { conversationId },
                ConditionExpression: 'attribute_not_exists(conversationId) OR #status <> :active',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':active': 'active' },
              },
            },
            ...userIds.flatMap((userId) => [
              { Delete: { TableName: t().members, Key: { conversationId, userId } } },
              { Delete: { TableName: t().userConversations, Key: { userId, conversationId } } },
            ]),
          ],
        }),
      );
    } catch (err) {
      const reasons = cancellationReasons(err);
      if (!reasons) throw err;
      if (isRetryableCancellation(reasons)) throw new TransientError('compensation lost a race');
      throw new BusinessError('the group is active; it is not undone');
    }
  }
}

/**
 * Compensation 1: marks the group `failed` first, so that no chunk still in flight can add members
 * after the clean-up (every chunk is conditioned on `creating`); an active group is never failed.
 */
export async function failGroup(input: Pick<CreateGroupInput, 'conversationId'>): Promise<void> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: t().conversations,
        Key: { conversationId: input.conversationId },
        UpdateExpression: 'SET #status = :failed',
        ConditionExpression: 'attribute_exists(conversationId) AND #status <> :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': 'failed', ':active': 'active' },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const current = await getConversation(input.conversationId);
    if (current?.status === 'active') throw new BusinessError('the group is active; it is not undone');
    // No conversation was ever created: nothing to mark, nothing can be added.
  }
}

/** Compensation 3: the operation is compensated, with the error that caused it. */
export async function markCompensated(input: Pick<CreateGroupInput, 'operationId' | 'error'>): Promise<void> {
  const changed = await setOperationStatus(
    input.operationId,
    'compensated',
    describeError(input.operationId, input.error),
    ['running', 'failed'],
  );
  if (changed) emitSagaOutcome('createGroup', 'compensated');
}

/** Last resort: the operation is `failed` and stays for the reconciler to finish or undo. */
export async function recordFailure(input: Pick<CreateGroupInput, 'operationId' | 'error'>): Promise<void> {
  if (
    await setOperationStatus(input.operationId, 'failed', describeError(input.operationId, input.error), [
      'running',
    ])
  )
    emitSagaOutcome('createGroup', 'failed');
}

/** The operation's public `error` for a saga failure (a stable code; the raw cause is only logged). */
export function describeError(operationId: string, error: CreateGroupInput['error']): string {
  return describeSagaError(operationId, error);
}
