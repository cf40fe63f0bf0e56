// What crosses between the runtime's main thread and its event pollers' thread (see index.ts).
import type { CfnTemplate } from '#infra/synth.js';
import type { LocalQueue, QueueMapping } from '../sqs/index.js';
import type { StreamTriggerStats } from '../streams/index.js';
import type { SerializedError } from '../worker-messages.js';

/** A stream mapping being run: its logical id and its function's. */
export interface StreamMappingRef {
  readonly id: string;
  readonly functionId: string;
}

/** What the pollers' thread is started with: plain data only (functions cannot cross threads). */
export interface PollerData {
  readonly template: CfnTemplate;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  /** Table logical id -> local table name. */
  readonly tableNames: Readonly<Record<string, string>>;
  /** Queue logical id -> local queue URL. */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** The queues the SQS mappings read (by queue logical id). */
  readonly queues: Readonly<Record<string, LocalQueue>>;
  readonly queueMappings: readonly QueueMapping[];
  /** Logical ids of the functions the runtime can invoke: mappings of any other are not run. */
  readonly functionIds: readonly string[];
  /** Where stream checkpoints persist; undefined: in memory only. */
  readonly checkpointDir?: string;
}

/** A control request of the main thread, answered once by `done` or `failed`. */
export type PollerRequest =
  | { readonly type: 'idle'; readonly mappingId?: string; readonly timeoutMs?: number }
  | { readonly type: 'stats'; readonly mappingId?: string }
  | { readonly type: 'stop' };

/** Main -> pollers: a control request (with the id of its answer), or an invocation's outcome. */
export type ToPollers =
  | (PollerRequest & { readonly id: number })
  | { readonly type: 'invoked'; readonly id: number; readonly value: unknown }
  | { readonly type: 'invoke-failed'; readonly id: number; readonly error: SerializedError };

/** Pollers -> main: an invocation to run, the answer to a control request, or start-up's end. */
export type FromPollers =
  | { readonly type: 'started'; readonly streamMappings: readonly StreamMappingRef[] }
  | { readonly type: 'start-failed'; readonly error: SerializedError }
  | { readonly type: 'invoke'; readonly id: number; readonly functionId: string; readonly event: unknown }
  | { readonly type: 'done'; readonly id: number; readonly value?: StreamTriggerStats }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };
