import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { idempotencyStore } from '../data/idempotency-store.js';
import { AppError, ConflictError, UnavailableError } from '../errors.js';
import type { HttpResponse } from './response.js';

/** How long a first response is replayed for the same key (the contract says 24 h). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** How long a concurrent duplicate waits for the first call to finish before giving up. */
const IN_PROGRESS_WAIT_MS = 10_000;

interface IdempotentCall {
  /** The record key: one user's key, never shared across users. */
  scope: string;
  /** What must be equal for a replay: route, path parameters and body. */
  payload: unknown;
  run: () => Promise<HttpResponse>;
}

const idempotencyConfig = new IdempotencyConfig({
  eventKeyJmesPath: 'scope',
  payloadValidationJmesPath: 'payload',
  expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS,
  throwOnNoIdempotencyKey: true,
});

let execute: ((call: IdempotentCall) => Promise<HttpResponse>) | undefined;

function executor(): (call: IdempotentCall) => Promise<HttpResponse> {
  execute ??= makeIdempotent(
    // 4xx outcomes are returned (stored and replayed); 5xx are thrown, so Powertools drops the
    // in-progress record and a retry executes again.
    async (call: IdempotentCall) => call.run(),
    {
      persistenceStore: idempotencyStore(),
      config: idempotencyConfig,
    },
  );
  return execute;
}

/**
 * Runs `run` at most once per (user, key): a repeat with the same payload replays the first response,
 * another payload gets 409 `idempotency_key_reused`, and a concurrent duplicate waits for the first.
 */
export async function runIdempotent(call: IdempotentCall, context: Context): Promise<HttpResponse> {
  idempotencyConfig.registerLambdaContext(context);
  const deadline = Date.now() + IN_PROGRESS_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return await executor()(call);
    } catch (err) {
      if (err instanceof IdempotencyValidationError) {
        throw new ConflictError(
          'idempotency_key_reused',
          'Idempotency-Key was already used with another request',
        );
      }
      if (err instanceof IdempotencyAlreadyInProgressError) {
        if (Date.now() > deadline)
          throw new UnavailableError('A request with this Idempotency-Key is still running');
        await sleep(Math.min(50 * 2 ** attempt, 500) * (0.5 + Math.random()));
        continue;
      }
      // Powertools wraps the handler's own error; unwrap it so the error model sees our AppError.
      const cause = (err as { cause?: unknown }).cause;
      if (!(err instanceof AppError) && cause instanceof Error) throw cause;
      throw err;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
