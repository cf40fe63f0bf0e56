// The local Lambda event pollers: every event source mapping of the template (DynamoDB Streams, SQS) runs
// in a thread of its own, beside the fronts' thread rather than on it.
import { Worker } from 'node:worker_threads';
import type { StreamTriggerStats } from '../streams/index.js';
import { deserializeError } from '../worker-messages.js';
import {
  type FromPollers,
  PendingCalls,
  type PollerData,
  type PollerRequest,
  replyTo,
  type StreamMappingRef,
  type ToPollers,
} from './messages.js';

export type { PollerData, StreamMappingRef } from './messages.js';

/** Runs one invocation of a function of the template; `LocalLambdas.invoke` fits. A throw is a function error. */
export type PollerInvoker = (functionId: string, event: unknown) => Promise<unknown>;

/** The stream mappings' side of the pollers, as `StreamTriggers` offers it, across the thread boundary. */
export interface StreamPollers {
  /** The stream mappings being run. */
  readonly mappings: readonly StreamMappingRef[];
  /** Counters of one mapping, or the sum over all of them. */
  stats(mappingId?: string): Promise<StreamTriggerStats>;
  /**
   * Resolves once every shard (of one mapping, or of all) was polled after this call without finding new
   * records and every record read is done; rejects after `timeoutMs` (default 60 s) with each shard's state.
   */
  idle(options?: { readonly mappingId?: string; readonly timeoutMs?: number }): Promise<void>;
}

export interface EventPollers {
  readonly streams: StreamPollers;
  /** Stops polling, waits for in-flight invocations, writes checkpoints, ends the thread. */
  stop(): Promise<void>;
}

const WORKER_URL = new URL('./pollers-worker.mjs', import.meta.url);

/** How long `stop()` waits for in-flight batches and checkpoints before it ends the thread anyway: ms. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts the pollers' thread and resolves once every mapping polls (as `startStreamTriggers` does: a write
 * made after this resolves is delivered). The thread reads the streams and queues itself and asks this
 * thread to invoke, through `invoke`.
 *
 * Why a thread: on AWS the pollers of event source mappings are a service apart from API Gateway. Here,
 * on the thread that also carries the HTTP and WebSocket fronts and `@connections`, their steady
 * GetRecords and ReceiveMessage calls (each a signed SDK request and its parsing) were about half of that
 * thread's work during a send flood (18-19% of a core with them, 9-12% without), and client requests
 * queued behind them.
 */
export async function startEventPollers(data: PollerData, invoke: PollerInvoker): Promise<EventPollers> {
  const worker = new Worker(WORKER_URL, { workerData: data, name: 'event-pollers' });
  const requests = new PendingCalls();
  let exited = false;
  const send = (message: ToPollers) => {
    if (!exited) worker.postMessage(message);
  };
  const request = (message: PollerRequest): Promise<unknown> =>
    exited
      ? Promise.reject(new Error('The event pollers have stopped'))
      : requests.call((id) => send({ ...message, id }));

  const started = new Promise<readonly StreamMappingRef[]>((resolve, reject) => {
    worker.on('message', (message: FromPollers) => {
      switch (message.type) {
        case 'started':
          return resolve(message.streamMappings);
        case 'start-failed':
          return reject(deserializeError(message.error));
        case 'invoke':
          // Answered even when the function fails: the pollers' retry policies decide what then.
          return void replyTo(message.id, () => invoke(message.functionId, message.event)).then(send);
        case 'reply':
          return requests.settle(message);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`The event pollers' thread exited (${code}) while starting`)),
    );
  });
  worker.on('error', (err) => console.error('event pollers: thread failed:', err));
  worker.on('exit', (code) => {
    exited = true;
    requests.failAll(new Error(`The event pollers' thread exited (${code}); the event pollers have stopped`));
  });

  let mappings: readonly StreamMappingRef[];
  try {
    mappings = await started;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    streams: {
      mappings,
      stats: (mappingId) => request({ type: 'stats', mappingId }) as Promise<StreamTriggerStats>,
      idle: async (options = {}) => {
        await request({ type: 'idle', ...options });
      },
    },
    stop() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          request({ type: 'stop' }).catch((err: unknown) => console.error('event pollers: stop:', err)),
          new Promise((r) => {
            timer = setTimeout(r, STOP_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        await worker.terminate();
      })();
      return stopping;
    },
  };
}
