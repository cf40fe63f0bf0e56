import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { config } from '../config/env.js';
import { RetryableError } from '../retry.js';
import { batchGetAll } from './batch-get.js';
import { cancellationReasons, conditionalWrite, isRetryableCancellation } from './transactions.js';

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
  /** Tokens carry the version they were issued at; a password change moves it on (absent = 0). */
  tokenVersion?: number;
  /** Tokens revoked by logout: token id to its expiry (epoch seconds); expired entries are pruned. */
  revokedTokens?: Record<string, number>;
  /** Counts logouts; the condition that keeps two concurrent logouts from losing one. */
  revocations?: number;
  createdAt: string;
  updatedAt: string;
}

/** The part of a user that decides whether a session still holds. */
export type SessionState = Pick<UserItem, 'userId' | 'status' | 'tokenVersion' | 'revokedTokens'>;

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

/**
 * Reads only what a session check needs (status, token version, revoked token ids), strongly
 * consistently: one small GetItem, cheap enough for every WebSocket frame.
 */
export async function getSessionState(userId: string, deps: Deps = {}): Promise<SessionState | undefined> {
  const { client = defaultClient } = deps;
  const res = await client.send(
    new GetCommand({
      TableName: tablesOf(deps).users,
      Key: { userId },
      ConsistentRead: true,
      ProjectionExpression: 'userId, #status, tokenVersion, revokedTokens',
      ExpressionAttributeNames: { '#status': 'status' },
    }),
  );
  return res.Item as SessionState | undefined;
}

/** Most revoked token ids kept on one account; past it, a logout revokes every token (version bump). */
export const MAX_REVOKED_TOKENS = 50;

export type RevokeResult = { ok: true } | { ok: false; reason: 'not_found' | 'changed' };

/**
 * Adds a token id to the account's revoked list, dropping entries whose token has expired anyway. The
 * write is conditional on the logout counter read, so two concurrent logouts cannot lose one
 * (`changed`: read again and retry). When the list is full the account's token version moves on instead.
 */
export async function revokeToken(
  userId: string,
  tokenId: string,
  expiresAt: number,
  nowSeconds: number,
  deps: Deps = {},
): Promise<RevokeResult> {
  const { client = defaultClient } = deps;
  const user = await getUser(userId, deps);
  if (!user) return { ok: false, reason: 'not_found' };
  const kept = Object.entries(user.revokedTokens ?? {}).filter(([, exp]) => exp > nowSeconds);
  const full = kept.length >= MAX_REVOKED_TOKENS;
  const revoked = full ? {} : Object.fromEntries([...kept, [tokenId, expiresAt]]);
  const seen = user.revocations ?? 0;
  try {
    await client.send(
      new UpdateCommand({
        TableName: tablesOf(deps).users,
        Key: { userId },
        UpdateExpression: full
          ? 'SET revokedTokens = :revoked, revocations = :next, tokenVersion = :version'
          : 'SET revokedTokens = :revoked, revocations = :next',
        ConditionExpression:
          'attribute_exists(userId) AND (attribute_not_exists(revocations) OR revocations = :seen)',
        ExpressionAttributeValues: {
          ':revoked': revoked,
          ':next': seen + 1,
          ':seen': seen,
          ...(full ? { ':version': (user.tokenVersion ?? 0) + 1 } : {}),
        },
      }),
    );
    return { ok: true };
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return { ok: false, reason: 'changed' };
    throw err;
  }
}

/**
 * Replaces the password hash and moves the token version on, which revokes every token issued before;
 * the revoked list is emptied (those tokens are all older). Only an active account changes. Returns the
 * updated user, or `undefined` when the account is not active.
 */
export async function replacePassword(
  userId: string,
  passwordHash: string,
  now: string,
  deps: Deps = {},
): Promise<UserItem | undefined> {
  const { client = defaultClient } = deps;
  try {
    const res = await client.send(
      new UpdateCommand({
        TableName: tablesOf(deps).users,
        Key: { userId },
        UpdateExpression:
          'SET passwordHash = :hash, tokenVersion = if_not_exists(tokenVersion, :zero) + :one, updatedAt = :now REMOVE revokedTokens',
        ConditionExpression: 'attribute_exists(userId) AND #status = :active',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':hash': passwordHash,
          ':zero': 0,
          ':one': 1,
          ':now': now,
          ':active': 'active',
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return res.Attributes as UserItem;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}

/*
 * The DeleteAccount saga's writes. `markUserDeleting` is its pivot; `tombstone` its last word. Each is
 * conditioned on the status it moves from, so a re-run by the reconciler changes nothing twice.
 */

/** Moves an active account to `deleting`. Resolves false when the account is not active. */
export async function markUserDeleting(userId: string, now: string, deps: Deps = {}): Promise<boolean> {
  const { client = defaultClient } = deps;
  return conditionalWrite(
    client,
    new UpdateCommand({
      TableName: tablesOf(deps).users,
      Key: { userId },
      UpdateExpression: 'SET #status = :deleting, version = version + :one, updatedAt = :now',
      ConditionExpression: '#status = :active',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':deleting': 'deleting', ':active': 'active', ':one': 1, ':now': now },
    }),
  );
}

/**
 * Frees a username, only if its guard still points at `userId` (or is already gone). Resolves false
 * when someone else holds it now. The guard lives here, with the user, because registration writes
 * both in one transaction.
 */
export async function releaseUsername(username: string, userId: string, deps: Deps = {}): Promise<boolean> {
  const { client = defaultClient } = deps;
  return conditionalWrite(
    client,
    new DeleteCommand({
      TableName: tablesOf(deps).usernames,
      Key: { username },
      ConditionExpression: 'attribute_not_exists(username) OR userId = :u',
      ExpressionAttributeValues: { ':u': userId },
    }),
  );
}

/**
 * Turns a `deleting` account into a tombstone: no profile data, no username, no password or token
 * state, status `deleted`. Resolves false when the account is not `deleting`.
 */
export async function tombstoneUser(userId: string, now: string, deps: Deps = {}): Promise<boolean> {
  const { client = defaultClient } = deps;
  return conditionalWrite(
    client,
    new UpdateCommand({
      TableName: tablesOf(deps).users,
      Key: { userId },
      UpdateExpression:
        'SET #status = :deleted, username = :empty, displayName = :empty, bio = :empty, version = version + :one, updatedAt = :now REMOVE passwordHash, revokedTokens',
      ConditionExpression: '#status = :deleting',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':deleted': 'deleted',
        ':deleting': 'deleting',
        ':empty': '',
        ':one': 1,
        ':now': now,
      },
    }),
  );
}
