import { errors, jwtVerify, SignJWT } from 'jose';
import { signingKey } from './signing-key.js';

/** Lifetime of an access token; clients log in again after it. */
export const TOKEN_TTL_SECONDS = Number(process.env.TOKEN_TTL_SECONDS ?? 12 * 60 * 60);
const ISSUER = 'chat-backend';
const AUDIENCE = 'chat-clients';

export interface IssuedToken {
  token: string;
  expiresAt: string;
}

/** Signs an access token for a user. */
export async function issueToken(userId: string, now = new Date()): Promise<IssuedToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + TOKEN_TTL_SECONDS;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(await signingKey());
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

export type TokenVerdict = { ok: true; userId: string } | { ok: false; reason: string };

/** Verifies signature, algorithm, issuer, audience and expiry; never throws for a bad token. */
export async function verifyToken(token: string | undefined): Promise<TokenVerdict> {
  if (!token) return { ok: false, reason: 'Missing token' };
  try {
    const { payload } = await jwtVerify(token, await signingKey(), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    if (!payload.sub) return { ok: false, reason: 'Token has no subject' };
    return { ok: true, userId: payload.sub };
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
