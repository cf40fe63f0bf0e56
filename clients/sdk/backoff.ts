/** Reconnect delays: exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffOptions {
  /** First ceiling, in ms (default 500). */
  readonly baseMs?: number;
  /** Highest ceiling, in ms (default 30 000). */
  readonly maxMs?: number;
}

/** The delay before retry number `attempt` (0-based): uniform in [0, min(maxMs, baseMs × 2^attempt)]. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs ?? 30_000, (options.baseMs ?? 500) * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
