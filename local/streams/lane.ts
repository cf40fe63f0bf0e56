// A lane: the records of a shard (or of one ParallelizationFactor slice of it) queued in order and cut into
// batches by BatchSize, the 6 MB payload limit and MaximumBatchingWindowInSeconds; one batch at a time.
import { deliverBatch } from './batch-delivery.js';
import type { StreamEventRecord } from './records.js';
import type { ShardRunner } from './shard-reader.js';
import { Signal } from './signal.js';

/** Lambda's 6 MB synchronous payload limit, less room for the event's envelope. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 16 * 1024;

/** A record read from the shard, waiting in its lane or being delivered. */
export interface Entry {
  readonly record: StreamEventRecord;
  readonly position: number;
  readonly bytes: number;
  /** performance.now() when it reached its lane (batching window). */
  readonly enqueuedAt: number;
  /** Best estimate of its creation time, epoch ms (record age). */
  readonly createdAt: number;
}

/** Records of a shard processed in order, one batch at a time (one lane per ParallelizationFactor). */
export class Lane {
  /** Queued entries are queue[head..]; the consumed prefix is dropped now and then. */
  private queue: Entry[] = [];
  private head = 0;
  private queuedBytes = 0;
  private readonly signal: Signal;
  private busy = false;

  constructor(private readonly shard: ShardRunner) {
    this.signal = new Signal(shard.mapping.ctx.signal);
  }

  push(entry: Entry): void {
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
  }

  notify(): void {
    this.signal.notify();
  }

  describe(): string {
    return `${this.queue.length - this.head} queued${this.busy ? ', invoking' : ''}`;
  }

  async run(): Promise<void> {
    const { ctx, mapping } = this.shard.mapping;
    while (!ctx.stopping) {
      const head = this.queue[this.head];
      if (!head) {
        if (this.shard.ended) return;
        await this.signal.wait();
        continue;
      }
      const full =
        this.queue.length - this.head >= mapping.batchSize || this.queuedBytes >= MAX_PAYLOAD_BYTES;
      if (mapping.maximumBatchingWindowMs > 0 && !full && !this.shard.ended) {
        const wait = head.enqueuedAt + mapping.maximumBatchingWindowMs - performance.now();
        if (wait > 0) {
          await this.signal.wait(wait);
          continue;
        }
      }
      const batch = this.takeBatch();
      this.busy = true;
      try {
        await deliverBatch(this.shard, batch);
      } finally {
        this.busy = false;
      }
      if (ctx.stopping) return;
      this.head += batch.length;
      for (const e of batch) this.queuedBytes -= e.bytes;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
  }

  private takeBatch(): Entry[] {
    const { batchSize } = this.shard.mapping.mapping;
    const batch: Entry[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const entry = this.queue[i] as Entry;
      if (batch.length >= batchSize) break;
      if (batch.length > 0 && bytes + entry.bytes > MAX_PAYLOAD_BYTES) break;
      batch.push(entry);
      bytes += entry.bytes;
    }
    return batch;
  }
}
