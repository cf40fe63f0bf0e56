import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { config } from '../config/env.js';
import { signingKey } from './signing-key.js';

const ISSUER = 'chat-backend';
const AUDIENCE = 'chat-clients';

export interface IssuedToken {
  token: string;
  expiresAt: string;
}

/** What a verified token says: whose it is, which token it is, and until when it holds. */
export interface TokenClaims {
  userId: string;
  /** The token's own id (`jti`), what logout revokes. */
  tokenId: string;
  /** The account's token version when it was issued; a password change moves the account's on. */
  tokenVersion: number;
  /** Expiry, epoch seconds (`exp`). */
  expiresAt: number;
}

/** Signs an access token for a user at the account's current token version. */
export async function issueToken(userId: string, tokenVersion = 0, now = new Date()): Promise<IssuedToken> {
  const iat = Math.floor(now.getTime() / 1000);
  // Lifetime of an access token; clients log in again after it.
  const exp = iat + config().auth.tokenTtlSeconds;
  const token = await new SignJWT({ ver: tokenVersion })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(await signingKey());
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

export type TokenVerdict = ({ ok: true } & TokenClaims) | { ok: false; reason: string };

/**
 * Verifies signature, algorithm, issuer, audience and expiry; `exp`, `sub` (a string) and `jti` are
 * required, so a token that never expires or names no user is refused. Never throws for a bad token.
 */
export async function verifyToken(token: string | undefined): Promise<TokenVerdict> {
  if (!token) return { ok: false, reason: 'Missing token' };
  try {
    const { payload } = await jwtVerify(token, await signingKey(), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['exp', 'sub', 'jti'],
    });
    const { sub, jti, exp, ver } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128)
      return { ok: false, reason: 'Invalid token' };
    if (typeof jti !== 'string' || jti.length > 128) return { ok: false, reason: 'Invalid token' };
    if (typeof exp !== 'number') return { ok: false, reason: 'Invalid token' };
    const tokenVersion = ver === undefined ? 0 : ver;
    if (typeof tokenVersion !== 'number' || !Number.isInteger(tokenVersion))
      return { ok: false, reason: 'Invalid token' };
    return { ok: true, userId: sub, tokenId: jti, tokenVersion, expiresAt: exp };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: 'Token expired' };
    if (err instanceof errors.JOSEError) return { ok: false, reason: 'Invalid token' };
    throw err;
  }
}

/** Extracts the token from an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
