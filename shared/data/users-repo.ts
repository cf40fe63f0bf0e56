import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { config } from '../config/env.js';
import { RetryableError } from '../retry.js';
import { batchGetAll } from './batch-get.js';
import { cancellationReasons, isRetryableCancellation } from './transactions.js';

export type UserStatus = 'active' | 'deleting' | 'deleted';

/** The stored user, password hash included; never returned to clients as is. */
export interface UserItem {
  userId: string;
  username: string;
  displayName: string;
  bio: string;
  /** Optimistic-locking counter, also the search document version. */
  version: number;
  status: UserStatus;
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

interface Deps {
  client?: DocClient;
  tables?: { users: string; usernames: string };
}

const tablesOf = (deps: Deps) => deps.tables ?? config().tables;

export type CreateUserResult = { ok: true } | { ok: false; reason: 'username_taken' };

/** Writes the user and its username guard in one transaction; a taken username writes nothing. */
export async function createUser(user: UserItem, deps: Deps = {}): Promise<CreateUserResult> {
  const { client = defaultClient } = deps;
  const t = tablesOf(deps);
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: t.usernames,
              Item: { username: user.username, userId: user.userId, createdAt: user.createdAt },
              ConditionExpression: 'attribute_not_exists(username)',
            },
          },
          { Put: { TableName: t.users, Item: user, ConditionExpression: 'attribute_not_exists(userId)' } },
        ],
      }),
    );
    return { ok: true };
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (reasons[0]?.code === 'ConditionalCheckFailed') return { ok: false, reason: 'username_taken' };
    if (isRetryableCancellation(reasons))
      throw new RetryableError('registration lost a race', { cause: err });
    throw err;
  }
}

/** Reads a user strongly consistently. */
export async function getUser(userId: string, deps: Deps = {}): Promise<UserItem | undefined> {
  const { client = defaultClient } = deps;
  const res = await client.send(
    new GetCommand({ TableName: tablesOf(deps).users, Key: { userId }, ConsistentRead: true }),
  );
  return res.Item as UserItem | undefined;
}

/** Finds a user by lower-cased username through its guard item. */
export async function getUserByUsername(username: string, deps: Deps = {}): Promise<UserItem | undefined> {
  const { client = defaultClient } = deps;
  const guard = await client.send(
    new GetCommand({ TableName: tablesOf(deps).usernames, Key: { username }, ConsistentRead: true }),
  );
  const userId = guard.Item?.userId as string | undefined;
  return userId ? getUser(userId, deps) : undefined;
}

export interface ProfileChanges {
  displayName?: string;
  bio?: string;
}

export type UpdateProfileResult =
  | { ok: true; user: UserItem }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'version_conflict'; currentVersion: number };

/** Applies profile changes only if the stored version is `expectedVersion`; bumps the version. */
export async function updateProfile(
  userId: string,
  changes: ProfileChanges,
  expectedVersion: number,
  now: string,
  deps: Deps = {},
): Promise<UpdateProfileResult> {
  const { client = defaultClient } = deps;
  const names: Record<string, string> = {
    '#version': 'version',
    '#status': 'status',
    '#updatedAt': 'updatedAt',
  };
  const values: Record<string, unknown> = {
    ':expected': expectedVersion,
    ':one': 1,
    ':active': 'active',
    ':now': now,
  };
  const sets = ['#version = #version + :one', '#updatedAt = :now'];
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  try {
    const res = await client.send(
      new UpdateCommand({
        TableName: tablesOf(deps).users,
        Key: { userId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(userId) AND #status = :active AND #version = :expected',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { ok: true, user: res.Attributes as UserItem };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const old = err.Item ? (unmarshall(err.Item) as UserItem) : undefined;
    if (old?.status !== 'active') return { ok: false, reason: 'not_found' };
    return { ok: false, reason: 'version_conflict', currentVersion: old.version };
  }
}

/** Reads many users strongly consistently; unknown ids are absent from the result. */
export async function getUsers(userIds: readonly string[], deps: Deps = {}): Promise<UserItem[]> {
  const { client = defaultClient } = deps;
  const unique = [...new Set(userIds)];
  return batchGetAll<UserItem>(
    client,
    tablesOf(deps).users,
    unique.map((userId) => ({ userId })),
  );
}
