import { getSecret } from '@aws-lambda-powertools/parameters/secrets';

let key: Promise<Uint8Array> | undefined;

/**
 * The HMAC key that signs access tokens. Locally it comes from `TOKEN_SECRET` (the runtime generates
 * one per data directory); on AWS from the Secrets Manager secret the stack creates (`TOKEN_SECRET_ARN`).
 */
export function signingKey(env: NodeJS.ProcessEnv = process.env): Promise<Uint8Array> {
  key ??= load(env).catch((err) => {
    key = undefined; // a failed fetch must not be cached
    throw err;
  });
  return key;
}

async function load(env: NodeJS.ProcessEnv): Promise<Uint8Array> {
  if (env.TOKEN_SECRET) return new TextEncoder().encode(env.TOKEN_SECRET);
  if (!env.TOKEN_SECRET_ARN) throw new Error('Missing TOKEN_SECRET or TOKEN_SECRET_ARN');
  const secret = await getSecret(env.TOKEN_SECRET_ARN, { maxAge: 300 });
  if (typeof secret !== 'string' || secret.length < 32)
    throw new Error('Token secret is missing or too short');
  return new TextEncoder().encode(secret);
}
