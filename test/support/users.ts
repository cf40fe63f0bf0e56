import { register } from '#shared/domain/accounts.js';
import { unique } from './tables.js';

/** Registers a fresh user in-process. */
export async function newUser(prefix = 'user') {
  const session = await register({
    username: unique(prefix).slice(0, 32),
    password: 'password-123',
    displayName: prefix,
  });
  return { userId: session.user.userId, username: session.user.username, token: session.token };
}
