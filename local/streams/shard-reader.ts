// The shard reader: one shard of a mapping's stream. Reads it in order (GetShardIterator, GetRecords),
// re-takes expired or trimmed iterators, applies FilterCriteria, spreads records over the shard's lanes by
// partition key, bounds what is read ahead, and moves the shard's checkpoint as records are done.
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { type ShardCheckpoint, Watermark } from './checkpoint.js';
import { errorMessage, GET_RECORDS_MAX } from './context.js';
import { type Entry, Lane } from './lane.js';
import type { MappingRunner } from './mapping-runner.js';
import { type StreamEventRecord, toEventRecord } from './records.js';
import { Signal } from './signal.js';

/** A shard with no new records for this long is polled at the idle interval. */
const QUIET_AFTER_MS = 10_000;
/**
 * ApproximateCreationDateTime is rounded down to the second (AWS and the local engine alike): the record may be
 * up to this much younger than it says, and is never judged older than it can be.
 */
const CREATION_TIME_SLACK_MS = 1_000;

/** One shard of a mapping's stream: a reader filling lanes, and the checkpoint of the shard. */
export class ShardRunner {
  state: 'waiting' | 'running' | 'finished';
  /** No more records will be read (closed shard fully read, or gone). */
  ended = false;
  private readonly watermark = new Watermark();
  private readonly lanes: Lane[] = [];
  private readonly drained: Signal;
  private readonly wake: Signal;
  private readPosition: ShardCheckpoint;
  private lastEmptyPollAt = Number.NEGATIVE_INFINITY;
  private loops: Promise<void>[] = [];
  private readonly highWater: number;

  constructor(
    readonly mapping: MappingRunner,
    readonly id: string,
    readonly parentId: string | undefined,
    position: ShardCheckpoint,
  ) {
    this.state = position.finished ? 'finished' : 'waiting';
    this.readPosition = { after: position.after };
    this.drained = new Signal(mapping.ctx.signal);
    this.wake = new Signal(mapping.ctx.signal);
    const m = mapping.mapping;
    this.highWater = Math.max(GET_RECORDS_MAX, 2 * m.batchSize * m.parallelizationFactor);
  }

  start(): void {
    if (this.state !== 'waiting') return;
    this.state = 'running';
    for (let i = 0; i < this.mapping.mapping.parallelizationFactor; i++) this.lanes.push(new Lane(this));
    this.loops = [
      this.guard('reader', this.readLoop()),
      ...this.lanes.map((l) => this.guard('lane', l.run())),
    ];
  }

  async stopped(): Promise<void> {
    await Promise.all(this.loops);
  }

  isIdle(since: number): boolean {
    if (this.state === 'finished') return true;
    return this.state === 'running' && this.watermark.pending === 0 && this.lastEmptyPollAt >= since;
  }

  describe(): string {
    const lanes = this.lanes.map((l) => l.describe()).join(', ');
    return `${this.id}: ${this.state}${this.ended ? ' (ended)' : ''}, ${this.watermark.pending} pending, read after ${
      this.readPosition.after ?? 'start'
    }${lanes ? `, lanes: ${lanes}` : ''}`;
  }

  /** Marks records done; moves the checkpoint; finishes the shard when it is closed and empty. */
  complete(entries: readonly Entry[]): void {
    for (const e of entries) this.watermark.complete(e.position);
    this.advance();
  }

  private advance(): void {
    const moved = this.watermark.advance();
    if (moved) this.mapping.onCheckpoint(this.id, moved);
    this.drained.notify();
    if (this.ended && this.watermark.pending === 0 && this.state === 'running') {
      this.state = 'finished';
      this.mapping.logAs('info', `shard ${this.id} finished`);
      this.mapping.onShardFinished(this.id);
    }
  }

  private async readLoop(): Promise<void> {
    const { ctx } = this.mapping;
    const stats = this.mapping.stats;
    let iterator: string | undefined;
    let failures = 0;
    let lastRecordsAt = Number.NEGATIVE_INFINITY;
    while (!ctx.stopping) {
      try {
        if (!iterator) {
          iterator = await this.acquireIterator();
          if (!iterator) return this.end('the shard no longer exists');
        }
        const room = this.highWater - this.watermark.pending;
        if (room <= 0) {
          await this.drained.wait(ctx.pollIntervalMs);
          continue;
        }
        const limit = Math.min(GET_RECORDS_MAX, room);
        const startedAt = performance.now();
        const page = await ctx.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
          {
            abortSignal: ctx.signal,
          },
        );
        failures = 0;
        const records = page.Records ?? [];
        if (records.length > 0) this.accept(records);
        iterator = page.NextShardIterator;
        if (!iterator) return this.end();
        if (records.length === 0) this.lastEmptyPollAt = startedAt;
        else lastRecordsAt = startedAt;
        if (records.length < limit) {
          const quiet = performance.now() - lastRecordsAt > QUIET_AFTER_MS;
          await this.wake.wait(quiet ? ctx.idlePollIntervalMs : ctx.pollIntervalMs);
        }
      } catch (err) {
        if (ctx.stopping) return;
        const name = (err as Error).name;
        if (name === 'ExpiredIteratorException') {
          stats.iteratorResets++;
          iterator = undefined;
        } else if (name === 'TrimmedDataAccessException') {
          stats.iteratorResets++;
          // Some engines number the records of all their streams with one counter and reject an iterator
          // taken while its shard was empty as soon as the shard's first record has a higher number than the
          // iterator: nothing was lost then, the iterator is simply taken again.
          if (this.readPosition.after !== undefined) {
            this.mapping.logAs(
              'warn',
              `shard ${this.id}: records after ${this.readPosition.after} were trimmed; going on from the oldest one left`,
            );
          }
          this.readPosition = {};
          iterator = undefined;
        } else if (name === 'ResourceNotFoundException') {
          return this.end('the shard no longer exists');
        } else {
          failures++;
          this.mapping.logAs('warn', `shard ${this.id}: GetRecords failed (${errorMessage(err)})`);
          await ctx.sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
        }
      }
    }
  }

  /** An iterator where reading stopped; undefined if the shard is gone. */
  private async acquireIterator(): Promise<string | undefined> {
    const { ctx } = this.mapping;
    const after = this.readPosition.after;
    const input = {
      StreamArn: this.mapping.streamArn,
      ShardId: this.id,
      ...(after
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: after }
        : { ShardIteratorType: 'TRIM_HORIZON' as const }),
    };
    try {
      const res = await ctx.streams.send(new GetShardIteratorCommand(input), { abortSignal: ctx.signal });
      return res.ShardIterator;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ResourceNotFoundException') return undefined;
      if (name === 'TrimmedDataAccessException' && after) {
        this.mapping.logAs(
          'warn',
          `shard ${this.id}: records after ${after} were trimmed; going on from the oldest one left`,
        );
        this.readPosition = {};
        return this.acquireIterator();
      }
      throw err;
    }
  }

  private accept(records: readonly SdkRecord[]): void {
    const m = this.mapping;
    const now = Date.now();
    const enqueuedAt = performance.now();
    const touched = new Set<Lane>();
    for (const raw of records) {
      const record = toEventRecord(raw, { region: m.ctx.region, eventSourceArn: m.streamArn });
      const seq = record.dynamodb.SequenceNumber;
      const position = this.watermark.add(seq);
      this.readPosition = { after: seq };
      m.stats.recordsRead++;
      if (m.filter && !m.filter(record)) {
        m.stats.recordsFiltered++;
        this.watermark.complete(position);
        continue;
      }
      const approx = record.dynamodb.ApproximateCreationDateTime;
      const entry: Entry = {
        record,
        position,
        bytes: Buffer.byteLength(JSON.stringify(record)),
        enqueuedAt,
        createdAt: approx === undefined ? now : Math.min(now, approx * 1000 + CREATION_TIME_SLACK_MS),
      };
      const lane = this.laneFor(record);
      lane.push(entry);
      touched.add(lane);
    }
    for (const lane of touched) lane.notify();
    this.advance();
  }

  /** Records of one partition key always go to the same lane (ParallelizationFactor > 1 keeps their order). */
  private laneFor(record: StreamEventRecord): Lane {
    if (this.lanes.length === 1) return this.lanes[0] as Lane;
    const keys = record.dynamodb.Keys ?? {};
    const hashKey = this.mapping.hashKey;
    const text = JSON.stringify(hashKey && keys[hashKey] ? keys[hashKey] : keys);
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    return this.lanes[(hash >>> 0) % this.lanes.length] as Lane;
  }

  private end(reason?: string): void {
    if (reason) this.mapping.logAs('info', `shard ${this.id}: ${reason}`);
    this.ended = true;
    for (const lane of this.lanes) lane.notify();
    this.advance();
  }

  private async guard(what: string, loop: Promise<void>): Promise<void> {
    try {
      await loop;
    } catch (err) {
      this.mapping.logAs('error', `shard ${this.id} ${what} crashed: ${errorMessage(err)}`);
    }
  }
}
