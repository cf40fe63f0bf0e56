import type { UserItem } from '../data/users-repo.js';

/** The `User` object of the contract: the caller's own view. */
export interface User {
  userId: string;
  username: string;
  displayName: string;
  bio: string;
  version: number;
  createdAt: string;
}

/** The `PublicProfile` object of the contract: what others see. */
export interface PublicProfile {
  userId: string;
  username: string;
  displayName: string;
  bio: string;
  /** Present (true) only for an account that was deleted or is being deleted: shown as such, nameless. */
  deleted?: true;
}

export function toUser(item: UserItem): User {
  const { userId, username, displayName, bio, version, createdAt } = item;
  return { userId, username, displayName, bio, version, createdAt };
}

/**
 * What others see of a user. A deleted (or deleting) account shows no name at all, so that a later
 * owner of its username is never taken for the person in an old conversation.
 */
export function toPublicProfile(item: UserItem): PublicProfile {
  const { userId, username, displayName, bio } = item;
  if (item.status !== 'active')
    return { userId, username: '', displayName: 'Deleted account', bio: '', deleted: true };
  return { userId, username, displayName, bio };
}
