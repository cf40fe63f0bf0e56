import { randomUUID } from 'node:crypto';
import { dummyHash, hashPassword, verifyPassword } from '../auth/passwords.js';
import { type IssuedToken, issueToken } from '../auth/tokens.js';
import {
  createUser,
  getUser,
  getUserByUsername,
  type ProfileChanges,
  replacePassword,
  revokeToken,
  type UserItem,
  updateProfile,
} from '../data/users-repo.js';
import { ConflictError, InvalidCredentialsError, NotFoundError, UnauthorizedError } from '../errors.js';
import { RetryableError, withRetry } from '../retry.js';
import { limitLoginAttempts, limitPasswordChecks } from './login-throttle.js';
import { type Operation, startOperation } from './operations.js';
import { endSessionsOf } from './sessions.js';
import { type PublicProfile, toPublicProfile, toUser, type User } from './users.js';

export interface Session extends IssuedToken {
  user: User;
}

/** Registers a user: the user item and its username guard are written atomically, or nothing is. */
export async function register(input: {
  username: string;
  password: string;
  displayName: string;
}): Promise<Session> {
  const now = new Date().toISOString();
  const item: UserItem = {
    userId: `u_${randomUUID().replace(/-/g, '')}`,
    username: input.username,
    displayName: input.displayName,
    bio: '',
    version: 1,
    status: 'active',
    tokenVersion: 0,
    passwordHash: await hashPassword(input.password),
    createdAt: now,
    updatedAt: now,
  };
  const result = await withRetry(() => createUser(item));
  if (!result.ok) throw new ConflictError('username_taken', `Username "${input.username}" is taken`);
  return { user: toUser(item), ...(await issueToken(item.userId, 0)) };
}

/**
 * Checks a password in constant time whether or not the user exists, and issues a token. Attempts are
 * throttled per username and per source address before any hashing (429 `throttled`).
 */
export async function login(
  input: { username: string; password: string },
  sourceIp?: string,
): Promise<Session> {
  await limitLoginAttempts(input.username, sourceIp);
  const item = await getUserByUsername(input.username);
  const ok = await verifyPassword(input.password, item?.passwordHash ?? (await dummyHash()));
  if (!item || !ok || item.status !== 'active') throw new InvalidCredentialsError();
  return { user: toUser(item), ...(await issueToken(item.userId, item.tokenVersion ?? 0)) };
}

/** The caller's own account; 404 once it is gone. */
export async function getMe(userId: string): Promise<User> {
  const item = await getUser(userId);
  if (!item || item.status === 'deleted') throw new NotFoundError('User not found');
  return toUser(item);
}

/** Applies a profile change under optimistic locking. */
export async function updateMe(
  userId: string,
  changes: ProfileChanges,
  expectedVersion: number,
): Promise<User> {
  const result = await updateProfile(userId, changes, expectedVersion, new Date().toISOString());
  if (result.ok) return toUser(result.user);
  if (result.reason === 'not_found') throw new NotFoundError('User not found');
  throw new ConflictError(
    'version_conflict',
    `Expected version ${expectedVersion}, current is ${result.currentVersion}`,
    {
      currentVersion: result.currentVersion,
    },
  );
}

/** Another user's public profile; deleted and deleting accounts are not found. */
export async function getProfile(userId: string): Promise<PublicProfile> {
  const item = await getUser(userId);
  if (item?.status !== 'active') throw new NotFoundError('User not found');
  return toPublicProfile(item);
}

/** Starts erasing the caller's account (a DeleteAccount saga); the operation tells how it goes. */
export async function deleteAccount(userId: string): Promise<Operation> {
  const item = await getUser(userId);
  if (item?.status !== 'active') throw new NotFoundError('User not found');
  return startOperation({
    // One id per account: concurrent DELETE /me requests all find the same operation and one saga.
    operationId: `op_delete_${userId}`,
    type: 'deleteAccount',
    userId,
    input: { userId },
    createdAt: new Date().toISOString(),
  });
}

/** The token a request came with, as the authorizer verified it. */
export interface PresentedToken {
  tokenId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

/**
 * Logout: revokes the presented token (both authorizers refuse it from now on) and closes the
 * WebSocket connections opened with it. Other tokens of the account stay valid.
 */
export async function logout(userId: string, token: PresentedToken): Promise<void> {
  const result = await withRetry(async () => {
    const r = await revokeToken(userId, token.tokenId, token.expiresAt, Math.floor(Date.now() / 1000));
    if (!r.ok && r.reason === 'changed') throw new RetryableError('concurrent logout', { fresh: true });
    return r;
  });
  if (!result.ok) throw new UnauthorizedError('Account does not exist');
  await endSessionsOf(userId, 'token_revoked', token.tokenId);
}

/**
 * Password change: checks the current password (throttled like logins), stores the new hash and moves
 * the account's token version on, which revokes every token issued before, then closes every open
 * WebSocket of the account. Answers with a fresh session for the caller.
 */
export async function changePassword(
  userId: string,
  input: { currentPassword: string; newPassword: string },
): Promise<Session> {
  await limitPasswordChecks(userId);
  const item = await getUser(userId);
  if (item?.status !== 'active') throw new UnauthorizedError('Account is not active');
  if (!(await verifyPassword(input.currentPassword, item.passwordHash))) throw new InvalidCredentialsError();
  const updated = await replacePassword(
    userId,
    await hashPassword(input.newPassword),
    new Date().toISOString(),
  );
  if (!updated) throw new UnauthorizedError('Account is not active');
  await endSessionsOf(userId, 'token_revoked');
  return { user: toUser(updated), ...(await issueToken(userId, updated.tokenVersion ?? 0)) };
}
