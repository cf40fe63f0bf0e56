import { randomUUID } from 'node:crypto';
import { dummyHash, hashPassword, verifyPassword } from '../auth/passwords.js';
import { type IssuedToken, issueToken } from '../auth/tokens.js';
import {
  createUser,
  getUser,
  getUserByUsername,
  type ProfileChanges,
  type UserItem,
  updateProfile,
} from '../data/users-repo.js';
import { ConflictError, InvalidCredentialsError, NotFoundError } from '../errors.js';
import { withRetry } from '../retry.js';
import { newId } from './ids.js';
import { type Operation, startOperation } from './operations.js';
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

/** Checks a password in constant time whether or not the user exists, and issues a token. */
export async function login(input: { username: string; password: string }): Promise<Session> {
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
    operationId: newId('op'),
    type: 'deleteAccount',
    userId,
    input: { userId },
    createdAt: new Date().toISOString(),
  });
}
