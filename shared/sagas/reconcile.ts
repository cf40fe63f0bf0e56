import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '../clients/sfn.js';
import { config } from '../config/env.js';
import { getConversation } from '../data/conversations-repo.js';
import { listOperations, type OperationItem, setOperationStatus } from '../data/operations-repo.js';
import { startExecution } from '../domain/operations.js';
import { logger } from '../logger.js';
import { failGroup, markCompensated, removeMembers } from './create-group-steps.js';

export interface OperationsReport {
  checked: number;
  stillRunning: number;
  markedSucceeded: string[];
  compensated: string[];
  restarted: string[];
  errors: string[];
}

/** The state of an operation's latest execution, or `missing` when none was started or it was lost. */
async function latestExecutionStatus(op: OperationItem): Promise<string> {
  if (!op.executions) return 'missing';
  const machine =
    op.type === 'createGroup' ? config().stateMachines.createGroup : config().stateMachines.deleteAccount;
  if (!machine) throw new Error(`no state machine configured for ${op.type}`);
  const name = op.executions === 1 ? op.operationId : `${op.operationId}-${op.executions}`;
  try {
    const res = await sfnClient().send(
      new DescribeExecutionCommand({
        executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`,
      }),
    );
    return res.status ?? 'missing';
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist') return 'missing';
    throw err;
  }
}

/**
 * Finds operations whose saga is not running any more (crashed before it started, lost, or failed in its
 * compensation) and brings each to an end. The repair follows the data, not the history: a group that
 * became active has succeeded, any other unfinished group is undone; an account deletion only ever
 * moves forward, so its saga is started again (every step is idempotent).
 */
export async function reconcileOperations(options: { olderThanMs?: number } = {}): Promise<OperationsReport> {
  const olderThanMs = options.olderThanMs ?? 2 * 60_000;
  const report: OperationsReport = {
    checked: 0,
    stillRunning: 0,
    markedSucceeded: [],
    compensated: [],
    restarted: [],
    errors: [],
  };
  for (const op of await listOperations()) {
    if (op.status === 'succeeded' || op.status === 'compensated') continue;
    report.checked++;
    if (op.status === 'running' && Date.now() - Date.parse(op.updatedAt) < olderThanMs) {
      report.stillRunning++;
      continue;
    }
    try {
      if ((await latestExecutionStatus(op)) === 'RUNNING') {
        report.stillRunning++;
        continue;
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
  return report;
}
