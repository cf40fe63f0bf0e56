import { AppError, isTransientDependencyError } from '../errors.js';
import { RetryableError } from '../retry.js';

/**
 * Errors a saga step reports to Step Functions, by name: `TransientError` is retried with backoff and
 * jitter by the state machine; `BusinessError` goes straight to compensation. Anything else (a bug) is
 * caught as `States.ALL` and also compensates.
 */
export class TransientError extends Error {
  override name = 'TransientError';
}
export class BusinessError extends Error {
  override name = 'BusinessError';
}

/** Runs a step and classifies its failure for the state machine's Retry and Catch rules. */
export async function classified<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof TransientError || err instanceof BusinessError) throw err;
    if (err instanceof RetryableError || isTransientDependencyError(err)) {
      throw new TransientError((err as Error).message, { cause: err });
    }
    if (err instanceof AppError) {
      if (err.code === 'unavailable') throw new TransientError(err.message, { cause: err });
      throw new BusinessError(`${err.code}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** The retry list every saga task uses: only transient failures, Lambda's own included. */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;
