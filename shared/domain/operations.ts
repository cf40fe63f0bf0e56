import { sagaRunner } from '../adapters/step-functions.js';
import {
  createOperation,
  getOperation,
  nextExecution,
  type OperationItem,
  type OperationType,
} from '../data/operations-repo.js';
import { NotFoundError } from '../errors.js';
import { logger } from '../logger.js';
import { publicOperationError } from './operation-errors.js';

/** The contract's `Operation`. */
export interface Operation {
  operationId: string;
  type: OperationType;
  status: OperationItem['status'];
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export const toOperation = ({
  operationId,
  type,
  status,
  error,
  createdAt,
  updatedAt,
}: OperationItem): Operation => ({
  operationId,
  type,
  status,
  error: publicOperationError(error),
  createdAt,
  updatedAt,
});

/** Starts (or restarts) the saga of an operation, as its next run (see `executionName`). */
export async function startExecution(op: OperationItem): Promise<void> {
  const run = await nextExecution(op.operationId);
  await sagaRunner().start(op.type, op.operationId, run, { ...op.input, operationId: op.operationId });
}

/**
 * Records the operation, then starts its saga; an operation id that already exists starts nothing and
 * returns the existing operation. If the start fails, the `running` record stays behind for
 * the reconciler, which starts it later; the caller still gets its 202.
 */
export async function startOperation(
  op: Omit<OperationItem, 'status' | 'error' | 'executions' | 'updatedAt'>,
) {
  const item: OperationItem = {
    ...op,
    status: 'running',
    error: null,
    executions: 0,
    updatedAt: op.createdAt,
  };
  if (!(await createOperation(item))) {
    // The same operation was already started (a concurrent or repeated request): one saga, not two.
    const existing = await getOperation(op.operationId);
    if (existing) return toOperation(existing);
  }
  try {
    await startExecution(item);
  } catch (error) {
    logger.warn('saga start failed; the reconciler will start it', {
      operationId: op.operationId,
      error: error as Error,
    });
  }
  return toOperation(item);
}

/** An operation, for the user who started it only. */
export async function getOperationFor(me: string, operationId: string): Promise<Operation> {
  const op = await getOperation(operationId);
  if (!op || op.userId !== me) throw new NotFoundError('Operation not found');
  return toOperation(op);
}
