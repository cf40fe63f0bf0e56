import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '../clients/sfn.js';
import { config } from '../config/env.js';
import type { OperationType } from '../data/operations-repo.js';

/**
 * The name of an operation's `run`th saga execution (1-based). Step Functions refuses to reuse a name
 * within 90 days, so each restart by the reconciler gets the next suffix; the first run is the bare
 * operation id.
 */
export const executionName = (operationId: string, run: number): string =>
  run === 1 ? operationId : `${operationId}-${run}`;

/** Sagas as the domain sees them: start an operation's run, read back its state. */
export interface SagaRunner {
  /** Starts run `run` of the operation's saga with `input` as its state machine input. */
  start(type: OperationType, operationId: string, run: number, input: unknown): Promise<void>;
  /**
   * The Step Functions status of run `run` (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`,
   * ...), or `missing` when that execution does not exist.
   */
  status(type: OperationType, operationId: string, run: number): Promise<string>;
}

function stateMachineArn(type: OperationType): string {
  const arn =
    type === 'createGroup' ? config().stateMachines.createGroup : config().stateMachines.deleteAccount;
  if (!arn) throw new Error(`No state machine configured for ${type}`);
  return arn;
}

/** Step Functions (its endpoint from the standard SDK configuration). */
export const stepFunctions: SagaRunner = {
  async start(type, operationId, run, input) {
    await sfnClient().send(
      new StartExecutionCommand({
        stateMachineArn: stateMachineArn(type),
        name: executionName(operationId, run),
        input: JSON.stringify(input),
      }),
    );
  },
  async status(type, operationId, run) {
    const machine = stateMachineArn(type);
    try {
      const res = await sfnClient().send(
        new DescribeExecutionCommand({
          executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${executionName(operationId, run)}`,
        }),
      );
      return res.status ?? 'missing';
    } catch (err) {
      if ((err as Error).name === 'ExecutionDoesNotExist') return 'missing';
      throw err;
    }
  },
};

let current: SagaRunner = stepFunctions;

/** The saga runner the domain uses (Step Functions unless a test replaced it). */
export const sagaRunner = (): SagaRunner => current;

/** Replaces the saga runner (tests); returns a function that puts the previous one back. */
export function useSagaRunner(runner: SagaRunner): () => void {
  const previous = current;
  current = runner;
  return () => {
    current = previous;
  };
}
