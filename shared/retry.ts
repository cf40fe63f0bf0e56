import { UnavailableError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up once this much time has passed, whatever the attempt count. */
  readonly maxElapsedMs?: number;
}

/** For transactions that lose races: many quick tries, since contention clears in milliseconds. */
export const transactionRetry: RetryPolicy = { attempts: 10, baseDelayMs: 10, maxDelayMs: 400 };

/** Thrown by an attempt to ask for another try; nothing was written by that attempt. */
export class RetryableError extends Error {
  /**
   * `fresh`: the attempt already learnt the current state (e.g. from a failed condition's old image),
   * so the next try needs only a little jitter, not a growing backoff that would hand the race to others.
   */
  constructor(message: string, options?: { cause?: unknown; fresh?: boolean }) {
    super(message, { cause: options?.cause });
    this.fresh = options?.fresh ?? false;
  }
  readonly fresh: boolean;
}

/**
 * Runs `attempt` until it succeeds, retrying only RetryableError with exponential backoff and full
 * jitter; when the tries or the time run out the caller gets 503 `unavailable`.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy = transactionRetry,
): Promise<T> {
  const started = Date.now();
  let backoffs = 0;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      const elapsed = Date.now() - started;
      if (n >= policy.attempts || (policy.maxElapsedMs !== undefined && elapsed >= policy.maxElapsedMs)) {
        throw new UnavailableError('Too much contention, retry later', err);
      }
      const cap = err.fresh
        ? policy.baseDelayMs
        : Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** backoffs++);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}
