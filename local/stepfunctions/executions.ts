import './polyfill.js';
import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { LocalStateMachine } from './definitions.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

/** Runs a function for a Task state; errors keep their `name`, which Retry and Catch match on. */
export type TaskInvoker = (functionId: string, input: unknown) => Promise<unknown>;

/**
 * Makes Task states fail with an error of the given name (tests inject failures by state name), from
 * the `after`-th call of that state on (default: the first).
 */
export type FaultPlan = Readonly<Record<string, { readonly error: string; readonly after?: number }>>;

/** Told of every history event of every execution (e.g. cost metering counts `StateEntered`). */
export type ExecutionEventObserver = (stateMachineArn: string, event: { readonly type: string }) => void;

export class ExecutionAlreadyExists extends Error {
  override name = 'ExecutionAlreadyExists';
}
export class ExecutionDoesNotExist extends Error {
  override name = 'ExecutionDoesNotExist';
}
export class StateMachineDoesNotExist extends Error {
  override name = 'StateMachineDoesNotExist';
}

/**
 * Executes the template's state machines in-process with aws-local-stepfunctions, every Task bound to the
 * same handler code that deploys. Executions live in memory: after a restart they are gone, as if the
 * service had lost them, which is what the reconciler must cope with.
 */
export class LocalExecutions {
  private readonly machines: Map<string, LocalStateMachine>;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly aborts = new Map<string, () => void>();
  private pendingFaults: FaultPlan | undefined;
  /** When set, each execution's event log is read and handed to it. */
  observeEvents: ExecutionEventObserver | undefined;

  constructor(
    machines: readonly LocalStateMachine[],
    private readonly invoke: TaskInvoker,
    /** Retries wait this long locally instead of the definition's seconds-long backoff. */
    private readonly retryDelayMs = 50,
  ) {
    this.machines = new Map(machines.map((m) => [m.arn, m]));
  }

  /** StartExecution: idempotent for the same name and input, as on AWS. */
  start(
    stateMachineArn: string,
    input = '{}',
    name: string = randomUUID(),
    faults?: FaultPlan,
  ): ExecutionRecord {
    const machine = this.machines.get(stateMachineArn);
    if (!machine) throw new StateMachineDoesNotExist(`State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.input === input) return existing;
      throw new ExecutionAlreadyExists(`Execution Already Exists: '${executionArn}'`);
    }
    const plan = faults ?? this.pendingFaults ?? {};
    this.pendingFaults = undefined;
    const calls = new Map<string, number>();
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      input,
      startDate: new Date(),
    };
    this.executions.set(executionArn, record);
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervals: Record<string, number> = {};
    for (const [state, functionId] of machine.taskFunctions) {
      handlers[state] = async (taskInput) => {
        const call = (calls.get(state) ?? 0) + 1;
        calls.set(state, call);
        const fault = plan[state];
        if (fault && call > (fault.after ?? 0)) {
          const err = new Error(`fault injected at ${state}`);
          err.name = fault.error;
          throw err;
        }
        return this.invoke(functionId, taskInput);
      };
      retryIntervals[state] = this.retryDelayMs;
    }
    const sm = new StateMachine(
      machine.definition as never,
      { validationOptions: { checkPaths: false } } as never,
    );
    const execution = sm.run(JSON.parse(input), {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        retryIntervalOverrides: retryIntervals,
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: JSON.parse(input),
          StartTime: record.startDate.toISOString(),
        },
      } as never,
    });
    this.aborts.set(executionArn, execution.abort);
    const observe = this.observeEvents;
    if (observe) {
      void (async () => {
        for await (const event of execution.eventLogs) observe(stateMachineArn, event);
      })().catch(() => undefined);
    }
    const done = execution.result.then(
      (output: unknown) => {
        record.status = 'SUCCEEDED';
        record.output = JSON.stringify(output ?? null);
      },
      (err: unknown) => {
        record.status = 'FAILED';
        const cause =
          err instanceof ExecutionError ? (err.cause as { name?: string; message?: string }) : undefined;
        record.error = cause?.name ?? (err as Error).name;
        record.cause = cause?.message ?? (err as Error).message;
      },
    );
    this.running.set(
      executionArn,
      done.finally(() => {
        record.stopDate = new Date();
        this.running.delete(executionArn);
        this.aborts.delete(executionArn);
      }),
    );
    return record;
  }

  /** Faults for the next execution started (through the API, as handlers start them). */
  injectFaults(plan: FaultPlan): void {
    this.pendingFaults = plan;
  }

  /** Every execution of a state machine, newest last. */
  list(stateMachineArn: string): ExecutionRecord[] {
    return [...this.executions.values()].filter((e) => e.stateMachineArn === stateMachineArn);
  }

  describe(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) throw new ExecutionDoesNotExist(`Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  stop(executionArn: string): ExecutionRecord {
    const record = this.describe(executionArn);
    this.aborts.get(executionArn)?.();
    if (record.status === 'RUNNING') record.status = 'ABORTED';
    return record;
  }

  /** Resolves when an execution has ended (tests and benchmarks). */
  async settled(executionArn: string): Promise<ExecutionRecord> {
    await this.running.get(executionArn);
    return this.describe(executionArn);
  }

  /** Waits for every running execution (clean shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /** Abort everything still running (shutdown without waiting). */
  abortAll(): void {
    for (const abort of this.aborts.values()) abort();
  }
}
