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
}

export function toUser(item: UserItem): User {
  const { userId, username, displayName, bio, version, createdAt } = item;
  return { userId, username, displayName, bio, version, createdAt };
}

export function toPublicProfile(item: UserItem): PublicProfile {
  const { userId, username, displayName, bio } = item;
  return { userId, username, displayName, bio };
}
