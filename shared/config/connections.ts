/** API Gateway closes a WebSocket after at most two hours; no connection item outlives that. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

/** Default cap on one user's open connections (`MAX_CONNECTIONS_PER_USER` overrides it). */
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 10;

/**
 * How long a connection counts as present after its last sign of life (connect or any frame), in
 * seconds. API Gateway closes a WebSocket idle for 10 minutes, and live clients ping every 5 (the SDK),
 * so 11 minutes never marks a live client offline, while a client whose `$disconnect` was lost (a crash,
 * a dead network) shows offline at most this long after its last frame.
 */
export const DEFAULT_PRESENCE_TIMEOUT_SECONDS = 11 * 60;

/** Connection registry settings. */
export interface ConnectionSettings {
  /** Open connections one user may have (`MAX_CONNECTIONS_PER_USER`, 1-1000). */
  readonly maxPerUser: number;
  /** Presence lease after the last sign of life, seconds (`PRESENCE_TIMEOUT_SECONDS`, 2-7200). */
  readonly presenceTimeoutSeconds: number;
}

function wholeIn(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer in ${min}-${max}, got "${raw}"`);
  return n;
}

/** Reads the connection settings from an environment; unset takes the defaults, invalid values throw. */
export function readConnectionSettings(env: NodeJS.ProcessEnv): ConnectionSettings {
  return {
    maxPerUser: wholeIn(env, 'MAX_CONNECTIONS_PER_USER', DEFAULT_MAX_CONNECTIONS_PER_USER, 1, 1000),
    presenceTimeoutSeconds: wholeIn(
      env,
      'PRESENCE_TIMEOUT_SECONDS',
      DEFAULT_PRESENCE_TIMEOUT_SECONDS,
      2,
      CONNECTION_TTL_SECONDS,
    ),
  };
}
