import { register } from '#shared/domain/accounts.js';
import { unique } from './tables.js';

/**
 * Registrations of this test process in flight at once. Password hashing is bounded per process and
 * a registration refused after waiting too long for a slot answers 429 (docs/abuse-limits.md); tests
 * that sign up a hundred users at once are not testing that, so they queue here instead.
 */
const MAX_CONCURRENT_SIGNUPS = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function signUpSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_SIGNUPS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Registers a fresh user in-process. */
export async function newUser(prefix = 'user') {
  const session = await signUpSlot(() =>
    register({
      username: unique(prefix).slice(0, 32),
      password: 'password-123',
      displayName: prefix,
    }),
  );
  return { userId: session.user.userId, username: session.user.username, token: session.token };
}
