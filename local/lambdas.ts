import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { LocalFunction, Topology } from './topology.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Thrown when a function runs past its configured timeout, as Lambda would report it. */
export class LambdaTimeoutError extends Error {}

/**
 * Thrown at once when a function already runs as many invocations as it may (Lambda's
 * TooManyRequestsException): overload is refused quickly instead of queueing until timeouts.
 */
export class LambdaThrottledError extends Error {
  override readonly name = 'TooManyRequestsException';
}

/**
 * Concurrent invocations per function when the template reserves none: Lambda's account limit is
 * shared by all functions; locally one function may not take the whole machine. `LOCAL_LAMBDA_CONCURRENCY`
 * overrides it.
 */
export const DEFAULT_LOCAL_CONCURRENCY = 128;

/**
 * Told of every invocation that ran (not of throttled ones): the function, its event, its result
 * (undefined when it failed) and its wall time in ms.
 */
export type InvocationObserver = (
  fn: LocalFunction,
  event: unknown,
  result: unknown,
  ms: number,
  failed: boolean,
) => void;
const observers = new Set<InvocationObserver>();

/** Adds an observer of every runtime's invocations in this process (e.g. cost metering); returns its removal. */
export function observeInvocations(observer: InvocationObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/**
 * Invokes the template's functions in-process by importing the very entry files that CDK bundles.
 * Many invocations run at once, like concurrent Lambda instances sharing nothing but module state.
 */
export class LocalLambdas {
  private readonly handlers = new Map<string, Promise<Handler>>();
  private readonly running = new Map<string, number>();
  private readonly defaultLimit = Number(process.env.LOCAL_LAMBDA_CONCURRENCY ?? DEFAULT_LOCAL_CONCURRENCY);

  constructor(
    private readonly topology: Topology,
    private readonly rootDir: string,
  ) {}

  /** Imports every function once, so the first request does not pay for it and a broken entry fails start-up. */
  async warmUp(): Promise<void> {
    await Promise.all([...this.topology.functions.keys()].map((id) => this.handler(id)));
  }

  async invoke(functionId: string, event: unknown): Promise<unknown> {
    const fn = this.fn(functionId);
    const limit = fn.reservedConcurrency ?? this.defaultLimit;
    const running = this.running.get(functionId) ?? 0;
    if (running >= limit)
      throw new LambdaThrottledError(`Rate exceeded: ${fn.logicalId} runs ${running} invocations`);
    this.running.set(functionId, running + 1);
    const started = performance.now();
    let failed = true;
    let result: unknown;
    try {
      result = await this.run(fn, functionId, event);
      failed = false;
      return result;
    } finally {
      this.running.set(functionId, (this.running.get(functionId) ?? 1) - 1);
      for (const observe of observers) observe(fn, event, result, performance.now() - started, failed);
    }
  }

  private async run(fn: LocalFunction, functionId: string, event: unknown): Promise<unknown> {
    const handler = await this.handler(functionId);
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: fn.logicalId,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.logicalId}`,
      memoryLimitInMB: String(fn.memoryMb),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${fn.logicalId}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LambdaTimeoutError(`Task timed out after ${fn.timeoutSeconds} seconds`)),
        fn.timeoutSeconds * 1000,
      );
    });
    try {
      return await Promise.race([handler(event, context), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private fn(functionId: string): LocalFunction {
    const fn = this.topology.functions.get(functionId);
    if (!fn) throw new Error(`Unknown function ${functionId}`);
    return fn;
  }

  private handler(functionId: string): Promise<Handler> {
    let loaded = this.handlers.get(functionId);
    if (!loaded) {
      const fn = this.fn(functionId);
      loaded = import(pathToFileURL(join(this.rootDir, fn.entry)).href).then((mod: { handler?: unknown }) => {
        if (typeof mod.handler !== 'function') throw new Error(`${fn.entry} exports no handler`);
        return mod.handler as Handler;
      });
      this.handlers.set(functionId, loaded);
    }
    return loaded;
  }
}
