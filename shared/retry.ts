import { UnavailableError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** For transactions that lose races: many quick tries, since contention clears in milliseconds. */
export const transactionRetry: RetryPolicy = { attempts: 10, baseDelayMs: 10, maxDelayMs: 400 };

/** Thrown by an attempt to ask for another try. */
export class RetryableError extends Error {}

/**
 * Runs `attempt` until it succeeds, retrying only RetryableError with exponential backoff and full
 * jitter; when the tries run out the caller gets 503 `unavailable` (nothing was written by a try that
 * asked for a retry).
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy = transactionRetry,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      if (n >= policy.attempts) throw new UnavailableError('Too much contention, retry later', err);
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}
