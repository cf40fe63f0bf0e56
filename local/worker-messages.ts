import type { FunctionPolicy } from './function-policy.js';

/** What a function's worker thread is started with. */
export interface WorkerData {
  /** file: URL of the function's entry, the file CDK bundles. */
  readonly entryUrl: string;
  readonly functionName: string;
  /** The role's grants to check calls against; none: calls are not checked. */
  readonly policy?: FunctionPolicy;
  /** Queue URL -> queue ARN, to check SQS sends (which name a URL) against grants (which name an ARN). */
  readonly queueArns: Record<string, string>;
  /** file: URLs of instrumentation modules to load before the entry (see `LocalLambdasOptions.preload`). */
  readonly preload: readonly string[];
}

/** The fields of the Lambda context the worker rebuilds (functions cannot cross threads). */
export interface InvocationContext {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  /** Epoch ms when the invocation times out, for `getRemainingTimeInMillis`. */
  readonly deadline: number;
}

/** Runtime -> worker: one invocation. */
export interface ToWorker {
  readonly id: number;
  readonly event: unknown;
  readonly context: InvocationContext;
}

/** An error as it crosses threads: what Step Functions Retry/Catch and the pollers match on survives. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** The error's own enumerable properties that can be cloned (`$metadata`, `code`, ...). */
  readonly props: Record<string, unknown>;
}

/** Worker -> runtime. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'load-error'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError };

/** Flattens a thrown value for `postMessage` (structured cloning keeps neither `name` nor own props of errors). */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), props: {} };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err)) {
    try {
      props[key] = structuredClone(value);
    } catch {
      // not cloneable (a function, a socket): left behind, as Lambda's JSON error payload would
    }
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

/** Rebuilds a thrown error on the runtime's side, with its name, message, stack and own properties. */
export function deserializeError(e: SerializedError): Error {
  const err = new Error(e.message);
  Object.assign(err, e.props);
  Object.defineProperty(err, 'name', {
    value: e.name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  if (e.stack) err.stack = e.stack;
  return err;
}
