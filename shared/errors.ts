import { emitMetrics } from './metrics.js';

/** Base of every error the API reports on purpose: a stable code, an HTTP status and a safe message. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
  /** Extra fields merged into the error body (e.g. `currentVersion`). */
  readonly details: Record<string, unknown> | undefined;
}

export class InvalidRequestError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_request', 400, message, { details });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Missing or invalid token') {
    super('unauthorized', 401, message);
  }
}

export class InvalidCredentialsError extends AppError {
  constructor() {
    super('invalid_credentials', 401, 'Unknown username or wrong password');
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code: 'forbidden' | 'not_a_member' | 'not_friends' = 'forbidden') {
    super(code, 403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', details?: Record<string, unknown>) {
    super('not_found', 404, message, { details });
  }
}

export type ConflictCode =
  | 'username_taken'
  | 'already_friends'
  | 'request_pending'
  | 'version_conflict'
  | 'idempotency_key_reused';

export class ConflictError extends AppError {
  constructor(code: ConflictCode, message: string, details?: Record<string, unknown>) {
    super(code, 409, message, { details });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Payload too large') {
    super('payload_too_large', 413, message);
  }
}

/** 415: the body is not JSON (`Content-Type` names another media type). */
export class UnsupportedMediaTypeError extends AppError {
  constructor(contentType: string) {
    super(
      'unsupported_media_type',
      415,
      `Content-Type must be application/json, got "${contentType.slice(0, 64)}"`,
    );
  }
}

/**
 * 504: the request ran out of time before it finished. It may or may not have taken effect; a retry
 * with the same `Idempotency-Key` is safe.
 */
export class RequestTimeoutError extends AppError {
  constructor() {
    super('timeout', 504, 'The request did not finish in time; retry it with the same Idempotency-Key');
  }
}

/** 429: refused at once by a rate limit, nothing written; `retryAfterMs` says when a retry can pass. */
export class ThrottledError extends AppError {
  constructor(
    readonly retryAfterMs: number,
    message = 'Too many requests, retry later',
  ) {
    super('throttled', 429, message, { details: { retryAfterMs } });
  }
}

/** A dependency is down or kept refusing; by construction nothing was half-written. */
export class UnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable, retry later', cause?: unknown) {
    super('unavailable', 503, message, { cause });
  }
}

/** Errors by which AWS services refuse for throughput (after the SDK's own retries). */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
]);

const transientNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'TimeoutError',
]);

/** True for AWS SDK and network errors that a retry may cure; they map to 503, not 500. */
export function isTransientDependencyError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const meta = (err as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string })
    .$metadata;
  if (transientNames.has(err.name)) return true;
  if ((meta?.httpStatusCode ?? 0) >= 500) return true;
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE';
}

/** Turns any error into an AppError: known ones pass through, transient ones become 503, the rest 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof Error && THROTTLING.has(err.name)) emitMetrics({ DependencyThrottled: 1 });
  if (isTransientDependencyError(err)) return new UnavailableError(undefined, err);
  return new AppError('internal', 500, 'Internal error', { cause: err });
}
