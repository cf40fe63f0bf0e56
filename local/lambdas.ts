import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FunctionPolicy } from './function-policy.js';
import type { LocalFunction, Topology } from './topology.js';
import { deserializeError, type FromWorker, type ToWorker, type WorkerData } from './worker-messages.js';

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

/** A function's code could not be loaded (Lambda's `Runtime.ImportModuleError`). */
const importError = (fn: LocalFunction, cause: Error) =>
  Object.assign(new Error(`${fn.entry}: ${cause.message}`), { name: 'Runtime.ImportModuleError' });

/** The function's thread died with invocations in flight (Lambda's `Runtime.ExitError`). */
const exitError = (fn: LocalFunction, why: string) =>
  Object.assign(new Error(`RequestId: local Error: Runtime exited: ${fn.logicalId} ${why}`), {
    name: 'Runtime.ExitError',
  });

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One function's execution environment: a worker thread with the function's own environment and modules. */
interface Instance {
  readonly worker: Worker;
  /** Settles when the entry is loaded (Lambda's init phase, not counted in the function's timeout). */
  readonly ready: Promise<void>;
  readonly pending: Map<number, Pending>;
}

/** What each function runs with, besides its code. */
export interface LocalLambdasOptions {
  /** The function's environment (see `localFunctionEnvironment`); by default this process's. */
  readonly environment?: (functionId: string) => Record<string, string>;
  /** The function's IAM grants; calls of a function without an entry here are not checked. */
  readonly policies?: ReadonlyMap<string, FunctionPolicy>;
  /** Queue URL -> ARN, to check SQS sends against grants. */
  readonly queueArns?: ReadonlyMap<string, string>;
  /**
   * Receives what the functions write to stdout and stderr (their logs, CloudWatch Logs' part on AWS);
   * by default it goes to this process's own.
   */
  readonly logs?: (functionId: string, chunk: string) => void;
  /**
   * file: URLs of modules every function's thread loads before the function's entry, e.g. a benchmark's
   * meters; the local counterpart of a Lambda layer's wrapper. While they run, `currentInvocation()`
   * (invocation-context.ts) tells which invocation a call belongs to.
   */
  readonly preload?: readonly string[];
}

const WORKER_URL = new URL('./function-worker.mjs', import.meta.url);

/**
 * Invokes the template's functions from the very entry files that CDK bundles, each in a worker thread
 * of its own started on its first invocation (a cold start): its own `process.env` (exactly the template's
 * variables), its own module instances, its own SDK clients checked against its role's grants. Many
 * invocations of one function run at once in its thread, like concurrent Lambda instances that share
 * nothing but module state; different functions run in parallel on the machine's cores.
 */
export class LocalLambdas {
  private readonly instances = new Map<string, Instance>();
  private readonly running = new Map<string, number>();
  private readonly defaultLimit = Number(process.env.LOCAL_LAMBDA_CONCURRENCY ?? DEFAULT_LOCAL_CONCURRENCY);
  private nextId = 0;
  private stopped = false;

  constructor(
    private readonly topology: Topology,
    private readonly rootDir: string,
    private readonly options: LocalLambdasOptions = {},
  ) {}

  /**
   * Starts every function's thread and waits until their entries are loaded, `concurrency` at a time (by
   * default as many as the machine has cores): each load is about a second of CPU, and a shared machine
   * should not get dozens at once. A load failure rejects, unless `onLoadError` takes it and the others
   * go on. Resolves true when all were tried, false when the functions were stopped first.
   */
  async warmUp(
    options: { concurrency?: number; onLoadError?: (functionId: string, err: unknown) => void } = {},
  ): Promise<boolean> {
    const queue = [...this.topology.functions.keys()];
    const next = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined && !this.stopped; id = queue.shift()) {
        try {
          await this.instance(id).ready;
        } catch (err) {
          if (this.stopped) return;
          if (!options.onLoadError) throw err;
          options.onLoadError(id, err);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? availableParallelism() }, next));
    return !this.stopped;
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

  /** Ends every function's thread; invocations still in flight fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.worker.terminate()));
  }

  private async run(fn: LocalFunction, functionId: string, event: unknown): Promise<unknown> {
    const instance = this.instance(functionId);
    await instance.ready;
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<unknown>((resolve, reject) => {
        instance.pending.set(id, { resolve, reject });
        timer = setTimeout(() => {
          // The invocation may still finish in the thread; its answer is dropped, as Lambda drops it.
          instance.pending.delete(id);
          reject(new LambdaTimeoutError(`Task timed out after ${fn.timeoutSeconds} seconds`));
        }, fn.timeoutSeconds * 1000);
        instance.worker.postMessage({
          id,
          event,
          context: {
            functionName: fn.logicalId,
            invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${fn.logicalId}`,
            memoryLimitInMB: String(fn.memoryMb),
            awsRequestId: randomUUID(),
            deadline,
          },
        } satisfies ToWorker);
      });
    } finally {
      clearTimeout(timer);
      instance.pending.delete(id);
    }
  }

  private fn(functionId: string): LocalFunction {
    const fn = this.topology.functions.get(functionId);
    if (!fn) throw new Error(`Unknown function ${functionId}`);
    return fn;
  }

  private instance(functionId: string): Instance {
    const existing = this.instances.get(functionId);
    if (existing) return existing;
    if (this.stopped) throw new Error('The local functions are stopped');
    const fn = this.fn(functionId);
    const data: WorkerData = {
      entryUrl: pathToFileURL(join(this.rootDir, fn.entry)).href,
      functionName: fn.logicalId,
      policy: this.options.policies?.get(functionId),
      queueArns: Object.fromEntries(this.options.queueArns ?? []),
      preload: this.options.preload ?? [],
    };
    const worker = new Worker(WORKER_URL, {
      workerData: data,
      env: this.options.environment?.(functionId) ?? { ...process.env },
      name: fn.logicalId,
      stdout: this.options.logs !== undefined,
      stderr: this.options.logs !== undefined,
    });
    const logs = this.options.logs;
    if (logs) {
      for (const stream of [worker.stdout, worker.stderr])
        stream?.on('data', (chunk: Buffer) => logs(functionId, chunk.toString()));
    }
    // A thread waiting for invocations must not keep the process alive on its own.
    worker.unref();
    const pending = new Map<number, Pending>();
    let markReady: () => void = () => undefined;
    let failLoad: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failLoad = reject;
    });
    ready.catch(() => undefined); // observed by each invocation that awaits it
    const instance: Instance = { worker, ready, pending };
    // Ends this instance: the next invocation starts a new thread (a new cold start).
    const retire = (err: Error) => {
      if (this.instances.get(functionId) === instance) this.instances.delete(functionId);
      failLoad(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') return markReady();
      if (m.type === 'load-error') {
        retire(importError(fn, deserializeError(m.error)));
        void worker.terminate();
        return;
      }
      const p = pending.get(m.id);
      if (!p) return; // timed out already
      pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.value);
      else p.reject(deserializeError(m.error));
    });
    worker.on('error', (err) => retire(exitError(fn, `crashed: ${err.message}`)));
    worker.on('exit', (code) => retire(exitError(fn, `exited with code ${code}`)));
    this.instances.set(functionId, instance);
    return instance;
  }
}
