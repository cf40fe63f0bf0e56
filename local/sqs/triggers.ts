// Local SQS trigger: Lambda event source mappings for SQS queues, polled from ElasticMQ.
import { setMaxListeners } from 'node:events';
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
 * Runs each enabled mapping with MaximumConcurrency pollers. A poller receives up to BatchSize
 * messages, invokes the function with Lambda's SQS event, then deletes what succeeded (see
 * `idsToKeep`); what failed stays invisible until its visibility timeout ends, and the queue's redrive
 * policy moves it to the dead-letter queue after maxReceiveCount receives. For a FIFO queue the queue
 * itself withholds a message group while any of its messages is in flight, so at most one batch per
 * group is in flight and order holds within a group; the pollers check it and count any breach.
 */
export function startQueueTriggers(options: QueueTriggerOptions): QueueTriggers {
  const stats: QueueTriggerStats = { invocations: 0, deleted: 0, retried: 0, groupOverlaps: 0 };
  const abort = new AbortController();
  // Every poller's long poll listens on the one signal.
  setMaxListeners(0, abort.signal);
  const log = options.log ?? ((level, message) => console.error(`queues ${level}: ${message}`));
  const loops: Promise<void>[] = [];
  for (const mapping of options.mappings) {
    if (!mapping.enabled) continue;
    const queue = options.queues.get(mapping.queueId);
    if (!queue)
      throw new Error(`Event source mapping ${mapping.id}: queue ${mapping.queueId} was not created`);
    const inFlight = new Set<string>();
    for (let i = 0; i < mapping.maximumConcurrency; i++) {
      loops.push(poll(mapping, queue, inFlight));
    }
  }

  async function poll(mapping: QueueMapping, queue: LocalQueue, inFlight: Set<string>): Promise<void> {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const res = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            // SQS returns at most 10 per receive; larger batch sizes (standard queues) get batches of up to 10.
            MaxNumberOfMessages: Math.min(mapping.batchSize, 10),
            WaitTimeSeconds: options.waitTimeSeconds ?? 20,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = res.Messages ?? [];
      } catch (err) {
        if (abort.signal.aborted) return;
        log('warn', `${mapping.id}: receive failed: ${(err as Error).message}`);
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) continue;
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
      // Released before the delete: once deleted, the queue may hand the group's next batch to another poller.
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
      }
    }
  }

  return {
    stats,
    stop: async () => {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
