import { positive } from './rate-limits.js';

/** scrypt cost parameters; configurable so tests and benchmarks can state what they measure. */
export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** Derived key length, bytes. */
  readonly keyLength: number;
}

/** Token and password-hashing settings. */
export interface AuthConfig {
  /** Lifetime of an access token, seconds (`TOKEN_TTL_SECONDS`; 12 h by default). */
  readonly tokenTtlSeconds: number;
  /**
   * scrypt parameters for new hashes (`SCRYPT_N`, `SCRYPT_R`, `SCRYPT_P`): OWASP's scrypt baseline by
   * default (N=2^17 is stronger but costs 128 MiB per hash on a 2-core Lambda).
   */
  readonly kdf: KdfParams;
}

/** Reads the auth settings from an environment; unset variables take the defaults, invalid ones fail fast. */
export function readAuthConfig(env: NodeJS.ProcessEnv): AuthConfig {
  return {
    tokenTtlSeconds: positive(env, 'TOKEN_TTL_SECONDS', 12 * 60 * 60),
    kdf: {
      N: positive(env, 'SCRYPT_N', 2 ** 15),
      r: positive(env, 'SCRYPT_R', 8),
      p: positive(env, 'SCRYPT_P', 1),
      keyLength: 32,
    },
  };
}
