import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { KdfParams } from '../config/auth.js';
import { config } from '../config/env.js';
import { ThrottledError } from '../errors.js';

export type { KdfParams } from '../config/auth.js';

/** The scrypt parameters new hashes use (see `AuthConfig.kdf`), read once from the environment. */
export const kdfParams = (): KdfParams => config().auth.kdf;

/**
 * Bounds the scrypt work of one process: at most `hashConcurrency` hashes run (each holds a libuv pool
 * thread and 32 MiB), at most `hashQueue` wait, each for at most `HASH_WAIT_MS`, and anything past that
 * is refused with 429, so a login flood can neither queue every other login behind the KDF nor run
 * requests into their timeout. Written here because it needs an immediate refusal when the queue is
 * full and a bounded wait, which the common limiter packages do not offer together.
 */
let hashing = 0;
const waiting: { resolve: () => void; timer: NodeJS.Timeout }[] = [];
/** Longest wait for a hashing slot, well inside the auth functions' 10 s timeout. */
export const HASH_WAIT_MS = 3_000;

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  const { hashConcurrency, hashQueue } = config().abuseLimits;
  if (hashing >= hashConcurrency) {
    if (waiting.length >= hashQueue)
      throw new ThrottledError(1000, 'Too many password checks at once, retry later');
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new ThrottledError(1000, 'Too many password checks at once, retry later'));
        }, HASH_WAIT_MS),
      };
      waiting.push(waiter);
    });
  } else {
    hashing++;
  }
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next waiter, or free it.
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else hashing--;
  }
}

function derive(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  return withHashSlot(() => deriveNow(password, salt, params));
}

function deriveNow(password: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, params.keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Hashes a password with a fresh salt; the result records its own parameters. */
export async function hashPassword(password: string, params: KdfParams = kdfParams()): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Compares in constant time; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
    keyLength: expected.length,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

let dummy: Promise<string> | undefined;
/** A hash to verify against when the user does not exist, so both paths take the same time. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword('not-a-real-password');
  return dummy;
}
