// What the meters running inside the local functions' worker threads (thread-probe.ts) send to the
// benchmark's own thread. A BroadcastChannel reaches every thread of the process without the runtime's
// involvement; a report is posted as the metered call ends and arrives a moment later.
import { BroadcastChannel } from 'node:worker_threads';
import type { CapacityRecord } from './capacity.js';

const CHANNEL = 'bench:function-threads';

export type ThreadReport =
  /** One DynamoDB call, with the HTTP route of the invocation it served (none: not an HTTP request). */
  | { readonly kind: 'capacity'; readonly route?: string; readonly record: CapacityRecord }
  /** One AWS SDK request, by command name without `Command`. */
  | { readonly kind: 'sdk'; readonly command: string }
  /** A change of one of the sequencer's counters. */
  | { readonly kind: 'sequencer'; readonly counter: string; readonly delta: number }
  /** An SQS request (`chunks` 64 KB units), to a FIFO queue or not. */
  | { readonly kind: 'sqs'; readonly fifo: boolean; readonly chunks: number }
  /** A `@connections` push of `chunks` 32 KB units. */
  | { readonly kind: 'push'; readonly chunks: number };

let sender: BroadcastChannel | undefined;

/** Sends a report from a function's thread. */
export function report(r: ThreadReport): void {
  if (!sender) {
    sender = new BroadcastChannel(CHANNEL);
    sender.unref();
  }
  sender.postMessage(r);
}

let receiver: BroadcastChannel | undefined;
const listeners = new Set<(r: ThreadReport) => void>();

/** Receives the reports of every function thread in this process. */
export function onThreadReport(listener: (r: ThreadReport) => void): void {
  listeners.add(listener);
  if (receiver) return;
  receiver = new BroadcastChannel(CHANNEL);
  receiver.unref();
  receiver.onmessage = (message) => {
    const r = (message as { data: ThreadReport }).data;
    for (const l of listeners) l(r);
  };
}
