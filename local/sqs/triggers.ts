// Local SQS trigger: Lambda event source mappings for SQS queues, polled from ElasticMQ.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { idsToKeep, toSqsEvent } from './events.js';
import type { QueueMapping } from './mappings.js';
import type { LocalQueue } from './queues.js';

export type QueueInvoker = (functionId: string, event: unknown) => Promise<unknown>;

export interface QueueTriggerOptions {
  readonly mappings: readonly QueueMapping[];
  readonly queues: ReadonlyMap<string, LocalQueue>;
  readonly client: SQSClient;
  readonly invoke: QueueInvoker;
  /** Long-poll wait per ReceiveMessage, seconds (Lambda's pollers use 20). */
  readonly waitTimeSeconds?: number;
  readonly log?: (level: 'warn' | 'error', message: string) => void;
}

export interface QueueTriggerStats {
  invocations: number;
  deleted: number;
  /** Messages left on the queue after a failure, to reappear after the visibility timeout. */
  retried: number;
  /** Batches that carried a message group already in flight: must stay 0 (FIFO semantics). */
  groupOverlaps: number;
}

export interface QueueTriggers {
  readonly stats: QueueTriggerStats;
  stop(): Promise<void>;
}

/**
 * Receives of a FIFO queue while a batch of its mapping is in flight are short polls, the first at
 * once, then after `minMs`, doubling up to `maxMs` while they find nothing; a batch that ends, or one
 * received, starts over. A long poll left waiting then makes ElasticMQ spin: its waiting receive
 * reschedules itself at once for every visible message whose group is in flight (its
 * `scheduleTryReplyWhenAvailable`), which took over half a core at ten messages a second to one
 * conversation. SQS itself has no such cost, so this is a local concern only; the price is up to
 * `maxMs` of extra latency for another group's message while a batch is in flight.
 */
export const FIFO_BUSY_POLL_MS = { minMs: 10, maxMs: 100 } as const;

/**
 * Runs each enabled mapping: one receive loop that keeps up to MaximumConcurrency invocations in
 * flight. A receive gets up to BatchSize messages; the function is invoked with Lambda's SQS event,
 * then what succeeded is deleted (see `idsToKeep`); what failed stays invisible until its visibility
 * timeout ends, and the queue's redrive policy moves it to the dead-letter queue after maxReceiveCount
 * receives. For a FIFO queue the queue itself withholds a message group while any of its messages is
 * in flight, so at most one batch per group is in flight and order holds within a group; the loop
 * checks it and counts any breach. Receives long-poll, except on a FIFO queue with a batch in flight
 * or messages held after a failure (see FIFO_BUSY_POLL_MS).
 */
export function startQueueTriggers(options: QueueTriggerOptions): QueueTriggers {
  const stats: QueueTriggerStats = { invocations: 0, deleted: 0, retried: 0, groupOverlaps: 0 };
  const abort = new AbortController();
  // Every long poll and pause listens on the one signal.
  setMaxListeners(0, abort.signal);
  const log = options.log ?? ((level, message) => console.error(`queues ${level}: ${message}`));
  const loops: Promise<void>[] = [];
  for (const mapping of options.mappings) {
    if (!mapping.enabled) continue;
    const queue = options.queues.get(mapping.queueId);
    if (!queue)
      throw new Error(`Event source mapping ${mapping.id}: queue ${mapping.queueId} was not created`);
    loops.push(run(mapping, queue));
  }

  async function run(mapping: QueueMapping, queue: LocalQueue): Promise<void> {
    const inFlight = new Set<string>();
    const running = new Set<Promise<void>>();
    // Until then (epoch ms), messages a failed batch left on a FIFO queue may hold their group.
    let heldUntil = 0;
    let backoffMs = 0;
    while (!abort.signal.aborted) {
      if (running.size >= mapping.maximumConcurrency) {
        await Promise.race(running);
        continue;
      }
      const longPoll = !queue.fifo || (running.size === 0 && Date.now() >= heldUntil);
      let messages: Message[];
      try {
        const res = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            // SQS returns at most 10 per receive; larger batch sizes (standard queues) get batches of up to 10.
            MaxNumberOfMessages: Math.min(mapping.batchSize, 10),
            WaitTimeSeconds: longPoll ? (options.waitTimeSeconds ?? 20) : 0,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = res.Messages ?? [];
      } catch (err) {
        if (abort.signal.aborted) break;
        log('warn', `${mapping.id}: receive failed: ${(err as Error).message}`);
        await pause(1000);
        continue;
      }
      if (messages.length === 0) {
        if (!longPoll) {
          backoffMs = Math.min(Math.max(2 * backoffMs, FIFO_BUSY_POLL_MS.minMs), FIFO_BUSY_POLL_MS.maxMs);
          const ended = await Promise.race([...running, pause(backoffMs).then(() => 'paused' as const)]);
          if (ended !== 'paused') backoffMs = 0;
        }
        continue;
      }
      backoffMs = 0;
      const batch = deliver(mapping, queue, messages, inFlight).then((left) => {
        if (left > 0) heldUntil = Date.now() + queue.visibilityTimeoutSeconds * 1000;
        running.delete(batch);
      });
      running.add(batch);
    }
    await Promise.allSettled(running);
  }

  /** Invokes the function with one batch, then deletes what succeeded; resolves with how many were left. */
  async function deliver(
    mapping: QueueMapping,
    queue: LocalQueue,
    messages: Message[],
    inFlight: Set<string>,
  ): Promise<number> {
    const groups = new Set(messages.map((m) => m.Attributes?.MessageGroupId ?? '').filter(Boolean));
    for (const g of groups) {
      if (inFlight.has(g)) {
        stats.groupOverlaps++;
        log('error', `${mapping.id}: message group ${g} delivered while a batch of it is in flight`);
      }
      inFlight.add(g);
    }
    const event = toSqsEvent(messages, queue.arn);
    stats.invocations++;
    let outcome: { error: unknown } | { response: unknown };
    try {
      outcome = { response: await options.invoke(mapping.functionId, event) };
    } catch (error) {
      outcome = { error };
      log('warn', `${mapping.id}: ${mapping.functionId} failed: ${(error as Error).message}`);
    }
    const keep = idsToKeep(event, outcome, {
      reportBatchItemFailures: mapping.reportBatchItemFailures,
      fifo: queue.fifo,
    });
    const done = messages.filter((m) => !keep.has(m.MessageId as string));
    stats.retried += keep.size;
    // Released before the delete: once deleted, the queue may hand the group's next batch to another poll.
    for (const g of groups) inFlight.delete(g);
    try {
      for (let i = 0; i < done.length; i += 10) {
        const entries = done
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string }));
        await options.client.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: entries }));
      }
      stats.deleted += done.length;
    } catch (err) {
      // Not deleted: redelivered after the visibility timeout, which the function must tolerate anyway.
      log('warn', `${mapping.id}: delete failed: ${(err as Error).message}`);
      return messages.length;
    }
    return keep.size;
  }

  /** Waits `ms`, or less when the triggers stop. */
  const pause = (ms: number) => sleep(ms, undefined, { signal: abort.signal }).catch(() => undefined);

  return {
    stats,
    stop: async () => {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
