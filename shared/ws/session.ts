import { sessionVerdict } from '../auth/authorize.js';
import { getSessionState } from '../data/users-repo.js';
import type { SessionEndReason } from '../domain/sessions.js';

export { endSession } from '../domain/sessions.js';

/** What the `$connect` authorizer put in the connection's context (values may arrive as strings). */
export interface ConnectionAuth {
  userId?: string;
  tokenId?: string | number;
  tokenVersion?: string | number;
  tokenExpiresAt?: string | number;
}

/**
 * Re-checks the session behind a connection for one frame: one small strongly consistent GetItem
 * (status, token version, revoked ids) plus the token's expiry. `undefined` means the session holds;
 * otherwise the reason it ended.
 */
export async function frameSessionEnded(auth: ConnectionAuth): Promise<SessionEndReason | undefined> {
  const userId = auth.userId as string;
  const claims = {
    userId,
    tokenId: String(auth.tokenId ?? ''),
    tokenVersion: Number(auth.tokenVersion ?? 0),
    // A connection whose context has no expiry is treated as expired: no session is open-ended.
    expiresAt: Number(auth.tokenExpiresAt ?? 0),
  };
  const verdict = sessionVerdict(claims, await getSessionState(userId));
  if (verdict.ok) return verdict.status === 'active' ? undefined : 'account_closed';
  if (verdict.reason === 'Token expired') return 'token_expired';
  if (verdict.reason === 'Account does not exist') return 'account_closed';
  return 'token_revoked';
}
