import { logger } from '../logger.js';

/** What a saga's Catch hands its last steps: the error's name and cause as Step Functions records them. */
export interface SagaError {
  Error?: string;
  Cause?: string;
}

/**
 * The only values an Operation's `error` takes: a stable code and a fixed message. Raw causes (a
 * Lambda's stack, `ECONNREFUSED 127.0.0.1:…`) go to the log, never to the client.
 */
const PUBLIC_ERRORS = {
  not_found: 'A user or conversation the operation needs does not exist',
  forbidden: 'The operation is not allowed',
  invalid_request: 'The operation was refused as invalid',
  unavailable: 'A dependency was unavailable; the operation did not finish',
  timeout: 'The operation ran out of time',
  internal: 'The operation failed',
} as const;

export type OperationErrorCode = keyof typeof PUBLIC_ERRORS;

const isCode = (value: string): value is OperationErrorCode => Object.hasOwn(PUBLIC_ERRORS, value);

/** `code: message` for a stable code. */
export function operationError(code: OperationErrorCode): string {
  return `${code}: ${PUBLIC_ERRORS[code]}`;
}

/**
 * Turns a saga failure into its public `error`: `BusinessError`s keep their AppError code when it is
 * one of the public ones, transient and Lambda failures become `unavailable`, timeouts `timeout`, and
 * anything else `internal`. The raw error is logged with the operation id.
 */
export function describeSagaError(operationId: string, error: SagaError | undefined): string {
  logger.warn('saga failed', {
    operationId,
    sagaError: error?.Error,
    sagaCause: error?.Cause?.slice(0, 2000),
  });
  const name = error?.Error ?? '';
  if (name === 'BusinessError') {
    // Step Functions' Cause is the Lambda error as JSON; a local executor may hand the message alone.
    const cause = error?.Cause ?? '';
    const code = (/"errorMessage"\s*:\s*"([a-z_]+):/.exec(cause) ?? /^([a-z_]+):/.exec(cause))?.[1] ?? '';
    return operationError(isCode(code) ? code : 'invalid_request');
  }
  if (name === 'States.Timeout' || name === 'Sandbox.Timedout') return operationError('timeout');
  if (name === 'TransientError' || name.startsWith('Lambda.') || name === 'States.TaskFailed')
    return operationError('unavailable');
  return operationError('internal');
}

/** The public form of a stored `error`: records written before errors were stable are mapped to `internal`. */
export function publicOperationError(stored: string | null): string | null {
  if (stored === null) return null;
  const code = /^([a-z_]+): /.exec(stored)?.[1] ?? '';
  return isCode(code) && stored === operationError(code) ? stored : operationError('internal');
}
