// What crosses between the runtime's main thread and its event pollers' thread (see index.ts).
import type { CfnTemplate } from '#infra/synth.js';
import type { LocalQueue, QueueMapping } from '../sqs/index.js';
import { deserializeError, type SerializedError, serializeError } from '../worker-messages.js';

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

/** A control request of the main thread, answered once by a `reply`. */
export type PollerRequest =
  | { readonly type: 'idle'; readonly mappingId?: string; readonly timeoutMs?: number }
  | { readonly type: 'stats'; readonly mappingId?: string }
  | { readonly type: 'stop' };

/** The answer to a call across the boundary (a control request, or an invocation), by the call's id. */
export type Reply =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: SerializedError };

/** Main -> pollers: a control request, or the outcome of an invocation the pollers asked for. */
export type ToPollers = (PollerRequest & { readonly id: number }) | Reply;

/** Pollers -> main: start-up's end, an invocation to run, or the answer to a control request. */
export type FromPollers =
  | { readonly type: 'started'; readonly streamMappings: readonly StreamMappingRef[] }
  | { readonly type: 'start-failed'; readonly error: SerializedError }
  | { readonly type: 'invoke'; readonly id: number; readonly functionId: string; readonly event: unknown }
  | Reply;

/** The reply that `work`'s outcome makes: its value, or what it threw. */
export function replyTo(id: number, work: () => Promise<unknown>): Promise<Reply> {
  return work().then(
    (value): Reply => ({ type: 'reply', id, ok: true, value }),
    (err: unknown): Reply => ({ type: 'reply', id, ok: false, error: serializeError(err) }),
  );
}

/** Calls made across the boundary that wait for their reply, by id. */
export class PendingCalls {
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private nextId = 0;

  /** Starts a call: `send` posts it with its id; resolves or rejects with its reply. */
  call(send: (id: number) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      send(id);
    });
  }

  /** Settles the call a reply answers (a reply to no waiting call is dropped). */
  settle(reply: Reply): void {
    const call = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.ok) call?.resolve(reply.value);
    else call?.reject(deserializeError(reply.error));
  }

  /** Fails every waiting call (the other side is gone). */
  failAll(err: Error): void {
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }
}
