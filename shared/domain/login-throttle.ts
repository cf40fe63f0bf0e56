import { config } from '../config/env.js';
import { knownRefusal, takeToken } from '../data/rate-limits-repo.js';
import { ThrottledError } from '../errors.js';

/**
 * Takes one login attempt from the username's bucket and the source address's bucket, before any
 * password is hashed: a flood of guesses is refused with 429 `throttled` at the cost of two small
 * writes, and never reaches scrypt. Every attempt counts, failed or not; the budgets are far above
 * what a person logging in needs (docs/abuse-limits.md).
 */
export async function limitLoginAttempts(username: string, sourceIp: string | undefined): Promise<void> {
  const limits = config().abuseLimits;
  const nameKey = `login-user#${username}`;
  const sourceKey = sourceIp ? `login-source#${sourceIp}` : undefined;
  // A refusal this container is already sure of spends no token of the other bucket and costs no
  // request: a throttled source's flood neither drains its victims' per-username budgets nor writes a
  // new bucket for every made-up username it tries.
  const known = [
    sourceKey && knownRefusal(sourceKey, limits.loginPerSource),
    knownRefusal(nameKey, limits.loginPerUsername),
  ].filter((ms): ms is number => typeof ms === 'number');
  if (known.length) throw new ThrottledError(Math.max(...known), 'Too many login attempts, retry later');
  const [byName, bySource] = await Promise.all([
    takeToken(nameKey, limits.loginPerUsername),
    sourceKey ? takeToken(sourceKey, limits.loginPerSource) : { allowed: true as const },
  ]);
  const refused = [byName, bySource].flatMap((r) => (r.allowed ? [] : [r.retryAfterMs]));
  if (refused.length) throw new ThrottledError(Math.max(...refused), 'Too many login attempts, retry later');
}

/** Password checks by an authenticated user (password change), in the same per-account bucket as logins. */
export async function limitPasswordChecks(userId: string): Promise<void> {
  const result = await takeToken(`login-account#${userId}`, config().abuseLimits.loginPerUsername);
  if (!result.allowed)
    throw new ThrottledError(result.retryAfterMs, 'Too many password attempts, retry later');
}
