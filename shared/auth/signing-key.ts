import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { type Config, config } from '../config/env.js';

let key: Promise<Uint8Array> | undefined;

/**
 * The HMAC key that signs access tokens. Locally it comes from `TOKEN_SECRET` (the runtime generates
 * one per data directory); on AWS from the Secrets Manager secret the stack creates (`TOKEN_SECRET_ARN`).
 */
export function signingKey(source: Config['tokenSecret'] = config().tokenSecret): Promise<Uint8Array> {
  key ??= load(source).catch((err) => {
    key = undefined; // a failed fetch must not be cached
    throw err;
  });
  return key;
}

async function load(source: Config['tokenSecret']): Promise<Uint8Array> {
  if (source.value) return new TextEncoder().encode(source.value);
  if (!source.arn) throw new Error('Missing TOKEN_SECRET or TOKEN_SECRET_ARN');
  const secret = await getSecret(source.arn, { maxAge: 300 });
  if (typeof secret !== 'string' || secret.length < 32)
    throw new Error('Token secret is missing or too short');
  return new TextEncoder().encode(secret);
}
