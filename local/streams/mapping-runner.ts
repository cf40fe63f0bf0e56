// The mapping loop: one event source mapping's life. Finds the table's stream, loads or starts its checkpoint
// (StartingPosition), creates a reader per shard, starts children once their parents are done (lineage),
// re-lists shards now and then, follows a table's new stream, and records checkpoint moves.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { MappingCheckpoint } from './checkpoint.js';
import { type Context, errorMessage } from './context.js';
import { compileFilters } from './filter.js';
import type { StreamMapping } from './mappings.js';
import { latestPosition, listShards, sortParentsFirst } from './shard-discovery.js';
import { ShardRunner } from './shard-reader.js';
import { Signal } from './signal.js';
import { emptyStats } from './stats.js';
import { lookup, type StreamLog } from './trigger-options.js';

/** One event source mapping: its stream, shards, checkpoint and counters. */
export class MappingRunner {
  readonly stats = emptyStats();
  readonly filter: ((record: unknown) => boolean) | undefined;
  readonly tableName: string;
  readonly queueUrl: string | undefined;
  readonly functionArn: string;
  readonly shards = new Map<string, ShardRunner>();
  streamArn = '';
  hashKey: string | undefined;
  private checkpoint: MappingCheckpoint | undefined;
  private initialized = false;
  private lastError: { message: string; at: number } | undefined;
  private readonly discoverSignal: Signal;
  private loop: Promise<void> | undefined;
  private forceTrimHorizon = false;

  constructor(
    readonly ctx: Context,
    readonly mapping: StreamMapping,
  ) {
    this.filter = compileFilters(mapping.filterPatterns);
    const tableName = lookup(ctx.options.tableNames, mapping.tableId);
    if (!tableName) throw new Error(`Stream mapping ${mapping.id}: no local table for ${mapping.tableId}`);
    this.tableName = tableName;
    this.functionArn = `arn:aws:lambda:${ctx.region}:${ctx.accountId}:function:${mapping.functionId}`;
    this.discoverSignal = new Signal(ctx.signal);
    const destination = mapping.onFailure;
    if (destination?.type === 'AWS::SQS::Queue') {
      this.queueUrl = lookup(ctx.options.queueUrls, destination.logicalId);
      if (!this.queueUrl) {
        this.logAs(
          'warn',
          `no local URL for queue ${destination.logicalId}: records given up on are dropped`,
        );
      }
    } else if (destination) {
      this.logAs('warn', `on-failure destination ${destination.type} is not emulated: records are dropped`);
    }
    if (mapping.tumblingWindowSeconds > 0) {
      this.logAs(
        'warn',
        'TumblingWindowInSeconds is not emulated: the function is invoked without window state',
      );
    }
  }

  logAs(level: Parameters<StreamLog>[0], message: string): void {
    this.ctx.log(level, `${this.mapping.id} (${this.tableName} → ${this.mapping.functionId}): ${message}`);
  }

  async start(): Promise<void> {
    try {
      await this.init();
    } catch (err) {
      this.reportError(err);
    }
    this.loop = this.discoveryLoop();
  }

  async stopped(): Promise<void> {
    await this.loop;
    await Promise.all([...this.shards.values()].map((s) => s.stopped()));
  }

  isIdle(since: number): boolean {
    return this.initialized && [...this.shards.values()].every((s) => s.isIdle(since));
  }

  describe(): string {
    const head = `${this.mapping.id}: ${this.initialized ? `stream ${this.streamArn}` : 'not started'}${
      this.lastError ? ` (last error: ${this.lastError.message})` : ''
    } ${JSON.stringify(this.stats)}`;
    return [head, ...[...this.shards.values()].map((s) => `  ${s.describe()}`)].join('\n');
  }

  /** Called by a shard whose records are all done up to `sequenceNumber`. */
  onCheckpoint(shardId: string, sequenceNumber: string): void {
    if (!this.checkpoint) return;
    this.checkpoint.shards[shardId] = { after: sequenceNumber };
    this.ctx.store.save(this.checkpoint);
  }

  /** Called by a closed shard whose records are all done: its children may start. */
  onShardFinished(shardId: string): void {
    if (!this.checkpoint) return;
    this.checkpoint.shards[shardId] = { finished: true };
    this.ctx.store.save(this.checkpoint);
    this.startEligible();
    this.discoverSignal.notify();
  }

  private async init(): Promise<void> {
    const table = await this.ctx.dynamodb.send(new DescribeTableCommand({ TableName: this.tableName }), {
      abortSignal: this.ctx.signal,
    });
    const arn = table.Table?.LatestStreamArn;
    if (!arn || table.Table?.StreamSpecification?.StreamEnabled === false) {
      throw new Error(`table ${this.tableName} has no enabled stream`);
    }
    this.hashKey = table.Table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    let checkpoint = await this.ctx.store.load(this.mapping.id);
    if (checkpoint && checkpoint.streamArn !== arn) {
      this.logAs('info', `stream changed (${checkpoint.streamArn} → ${arn}): checkpoint discarded`);
      checkpoint = undefined;
    }
    const fresh = !checkpoint;
    const state: MappingCheckpoint = checkpoint ?? {
      version: 1,
      mappingId: this.mapping.id,
      streamArn: arn,
      shards: {},
    };
    const shards = sortParentsFirst(await listShards(this.ctx.streams, arn, this.ctx.signal));
    // Shards of the checkpoint that the stream no longer lists have expired (24 h): forget them.
    const listed = new Set(shards.map((s) => s.ShardId));
    for (const id of Object.keys(state.shards)) if (!listed.has(id)) delete state.shards[id];
    this.streamArn = arn;
    this.shards.clear();
    for (const shard of shards) {
      const id = shard.ShardId as string;
      let position = state.shards[id];
      if (!position) {
        if (fresh && this.mapping.startingPosition === 'LATEST' && !this.forceTrimHorizon) {
          position = shard.SequenceNumberRange?.EndingSequenceNumber
            ? { finished: true }
            : await latestPosition(this.ctx.streams, arn, id, this.ctx.signal);
        } else {
          position = {};
        }
        state.shards[id] = position;
      }
      this.shards.set(id, new ShardRunner(this, id, shard.ParentShardId, position));
    }
    this.checkpoint = state;
    this.forceTrimHorizon = false;
    this.initialized = true;
    this.lastError = undefined;
    this.ctx.store.save(state);
    this.logAs(
      'info',
      `reading ${arn} (${shards.length} shard(s), ${fresh ? this.mapping.startingPosition : 'checkpoint'})`,
    );
    this.startEligible();
  }

  private async discoveryLoop(): Promise<void> {
    while (!this.ctx.stopping) {
      await this.discoverSignal.wait(this.ctx.discoveryIntervalMs);
      if (this.ctx.stopping) return;
      try {
        if (!this.initialized) await this.init();
        else await this.discover();
      } catch (err) {
        if (this.ctx.stopping) return;
        this.reportError(err);
      }
    }
  }

  /** Lists shards again: adds new ones, starts children whose parents are done, forgets expired ones. */
  private async discover(): Promise<void> {
    const state = this.checkpoint;
    if (!state) return;
    const listed = await listShards(this.ctx.streams, this.streamArn, this.ctx.signal);
    let changed = false;
    for (const shard of sortParentsFirst(listed)) {
      const id = shard.ShardId as string;
      if (this.shards.has(id)) continue;
      const position = state.shards[id] ?? {};
      state.shards[id] = position;
      this.shards.set(id, new ShardRunner(this, id, shard.ParentShardId, position));
      this.logAs('info', `new shard ${id}${shard.ParentShardId ? ` (child of ${shard.ParentShardId})` : ''}`);
      changed = true;
    }
    const present = new Set(listed.map((s) => s.ShardId));
    for (const [id, runner] of this.shards) {
      if (!present.has(id) && runner.state === 'finished') {
        this.shards.delete(id);
        delete state.shards[id];
        changed = true;
      }
    }
    if (changed) this.ctx.store.save(state);
    this.startEligible();
    // A disabled stream whose shards are all done: follow the table's new stream if it has one (a table
    // re-created or a stream re-enabled locally), from its beginning.
    if ([...this.shards.values()].every((s) => s.state === 'finished')) {
      const table = await this.ctx.dynamodb.send(new DescribeTableCommand({ TableName: this.tableName }), {
        abortSignal: this.ctx.signal,
      });
      const latest = table.Table?.LatestStreamArn;
      if (latest && latest !== this.streamArn && table.Table?.StreamSpecification?.StreamEnabled !== false) {
        this.logAs('info', `table has a new stream ${latest}; following it from its beginning`);
        this.forceTrimHorizon = true;
        this.initialized = false;
        await this.init();
      }
    }
  }

  private startEligible(): void {
    for (const shard of this.shards.values()) {
      if (shard.state !== 'waiting') continue;
      const parent = shard.parentId ? this.shards.get(shard.parentId) : undefined;
      if (!parent || parent.state === 'finished') shard.start();
    }
  }

  private reportError(err: unknown): void {
    if (this.ctx.stopping) return;
    const message = errorMessage(err);
    const now = Date.now();
    if (this.lastError?.message !== message || now - this.lastError.at > 30_000) {
      this.logAs('warn', message);
      this.lastError = { message, at: now };
    }
  }
}
