import { sagaRunner } from '../adapters/step-functions.js';
import { getConversation } from '../data/conversations-repo.js';
import { readCursor, saveCursor } from '../data/cursors-repo.js';
import {
  listUnfinishedOperations,
  type OperationItem,
  setOperationStatus,
  UNFINISHED_SHARDS,
} from '../data/operations-repo.js';
import { startExecution } from '../domain/operations.js';
import { logger } from '../logger.js';
import { failGroup, markCompensated, removeMembers } from './create-group-steps.js';

export interface OperationsReport {
  /** Unfinished operations read from the sparse index in this run. */
  read: number;
  checked: number;
  stillRunning: number;
  markedSucceeded: string[];
  compensated: string[];
  restarted: string[];
  errors: string[];
  /** True when every shard of the index was read to its end in this run (the next run starts over). */
  covered: boolean;
}

/** The job name of the operations reconciler's cursor. */
export const OPERATIONS_RECONCILE_JOB = 'operations-reconcile';
/** Unfinished operations one run reads by default (each may take a few saga steps to repair). */
export const DEFAULT_OPERATIONS_BUDGET = 200;

/** Per shard of the `unfinished` index, the key to resume after (absent: from the oldest). */
interface OperationsCursor {
  shards: Record<string, Record<string, unknown>>;
}

/** The state of an operation's latest execution, or `missing` when none was started or it was lost. */
async function latestExecutionStatus(op: OperationItem): Promise<string> {
  if (!op.executions) return 'missing';
  return sagaRunner().status(op.type, op.operationId, op.executions);
}

/**
 * Finds operations whose saga is not running any more (crashed before it started, lost, or failed in its
 * compensation) and brings each to an end. The repair follows the data, not the history: a group that
 * became active has succeeded, any other unfinished group is undone; an account deletion only ever
 * moves forward, so its saga is started again (every step is idempotent).
 *
 * A run is bounded: it reads at most `budget` operations from the sparse `unfinished` index (finished
 * operations are not in it, and expire by TTL), shard by shard in parallel, resuming where the last run
 * stopped (the cursor lives in the cursors table) and starting a shard over once it reached its end.
 * `fromStart` ignores the saved position (an operator's full pass starts there).
 */
export async function reconcileOperations(
  options: { olderThanMs?: number; budget?: number; fromStart?: boolean } = {},
): Promise<OperationsReport> {
  const olderThanMs = options.olderThanMs ?? 2 * 60_000;
  const budget = options.budget ?? DEFAULT_OPERATIONS_BUDGET;
  const report: OperationsReport = {
    read: 0,
    checked: 0,
    stillRunning: 0,
    markedSucceeded: [],
    compensated: [],
    restarted: [],
    errors: [],
    covered: true,
  };
  const stored = await readCursor<OperationsCursor>(OPERATIONS_RECONCILE_JOB);
  const cursor: OperationsCursor = { shards: options.fromStart ? {} : { ...(stored.state?.shards ?? {}) } };
  // Operations updated from now on are newer than the cutoff; they wait for a later run.
  const updatedBefore = new Date(Date.now() - olderThanMs).toISOString();
  const perShard = Math.max(1, Math.ceil(budget / UNFINISHED_SHARDS));
  await Promise.all(
    Array.from({ length: UNFINISHED_SHARDS }, async (_, n) => {
      const shard = String(n);
      const page = await listUnfinishedOperations(shard, {
        updatedBefore,
        limit: perShard,
        startKey: cursor.shards[shard],
      });
      report.read += page.operations.length;
      for (const op of page.operations) await reconcileOne(op, olderThanMs, report);
      if (page.next) {
        cursor.shards[shard] = page.next;
        report.covered = false;
      } else delete cursor.shards[shard];
    }),
  );
  // A concurrent run that saved first simply wins; every repair here was conditional anyway.
  await saveCursor(OPERATIONS_RECONCILE_JOB, cursor, stored.revision);
  return report;
}

async function reconcileOne(op: OperationItem, olderThanMs: number, report: OperationsReport): Promise<void> {
  // The index is eventually consistent: an operation that finished meanwhile is skipped by the conditional
  // writes below (and by this check, for the common case).
  if (op.status === 'succeeded' || op.status === 'compensated') return;
  report.checked++;
  if (op.status === 'running' && Date.now() - Date.parse(op.updatedAt) < olderThanMs) {
    report.stillRunning++;
    return;
  }
  try {
    if ((await latestExecutionStatus(op)) === 'RUNNING') {
      report.stillRunning++;
      return;
    }
    if (op.type === 'createGroup') {
      const conversationId = String(op.input.conversationId);
      const conversation = await getConversation(conversationId);
      if (conversation?.status === 'active') {
        await setOperationStatus(op.operationId, 'succeeded', null, ['running', 'failed']);
        report.markedSucceeded.push(op.operationId);
      } else {
        await failGroup({ conversationId });
        await removeMembers({ conversationId });
        await markCompensated({
          operationId: op.operationId,
          error: { Error: 'Reconciled', Cause: op.error ?? 'the saga stopped before it finished' },
        });
        report.compensated.push(op.operationId);
      }
    } else {
      await setOperationStatus(op.operationId, 'running', op.error, ['running', 'failed']);
      await startExecution(op);
      report.restarted.push(op.operationId);
    }
  } catch (error) {
    logger.error('reconcile failed', { operationId: op.operationId, error: error as Error });
    report.errors.push(`${op.operationId}: ${(error as Error).message}`);
  }
}
