import { getSessionState, type SessionState, type UserStatus } from '../data/users-repo.js';
import { type TokenClaims, verifyToken } from './tokens.js';

export type AccountVerdict = ({ ok: true; status: UserStatus } & TokenClaims) | { ok: false; reason: string };

/**
 * Whether a verified token still holds against its account: the account exists, the token was issued
 * at the account's current token version (a password change moves it on) and was not logged out, and
 * it has not expired since it was verified. The status is returned for the caller to judge.
 */
export function sessionVerdict(
  claims: TokenClaims,
  state: SessionState | undefined,
  nowSeconds = Date.now() / 1000,
): AccountVerdict {
  if (!state) return { ok: false, reason: 'Account does not exist' };
  if (claims.expiresAt <= nowSeconds) return { ok: false, reason: 'Token expired' };
  if ((state.tokenVersion ?? 0) !== claims.tokenVersion) return { ok: false, reason: 'Token revoked' };
  if (state.revokedTokens?.[claims.tokenId] !== undefined) return { ok: false, reason: 'Token revoked' };
  return { ok: true, ...claims, status: state.status };
}

/**
 * Checks a token's signature and expiry, then reads its account (strongly consistent): a token is only
 * as good as the account behind it. Callers refuse any status but `active`, except where a closing
 * account may still look at its own deletion.
 */
export async function authorizeToken(token: string | undefined): Promise<AccountVerdict> {
  const verdict = await verifyToken(token);
  if (!verdict.ok) return verdict;
  const { ok: _, ...claims } = verdict;
  return sessionVerdict(claims, await getSessionState(verdict.userId));
}
