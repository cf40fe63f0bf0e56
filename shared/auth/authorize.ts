import { getUser, type UserStatus } from '../data/users-repo.js';
import { verifyToken } from './tokens.js';

export type AccountVerdict = { ok: true; userId: string; status: UserStatus } | { ok: false; reason: string };

/**
 * Checks a token's signature and expiry, then reads its account (strongly consistent): a token is only
 * as good as the account behind it. Callers refuse any status but `active`, except where a closing
 * account may still look at its own deletion.
 */
export async function authorizeToken(token: string | undefined): Promise<AccountVerdict> {
  const verdict = await verifyToken(token);
  if (!verdict.ok) return verdict;
  const user = await getUser(verdict.userId);
  if (!user) return { ok: false, reason: 'Account does not exist' };
  return { ok: true, userId: verdict.userId, status: user.status };
}
