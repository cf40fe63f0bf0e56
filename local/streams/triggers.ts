// The local stream trigger: polls the DynamoDB streams of the template's event source mappings and invokes
// the mapped functions as Lambda's event source mapping does (per-shard order, batching, shard lineage,
// ReportBatchItemFailures, bisection, retries, record age, on-failure destination, filtering, checkpoints).
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as SdkRecord,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CfnTemplate } from '#infra/synth.js';
import { BatchPlan, type InvokeOutcome, interpretResponse, retryDelayMs } from './batch.js';
import { CheckpointStore, type MappingCheckpoint, type ShardCheckpoint, Watermark } from './checkpoint.js';
import { compileFilters } from './filter.js';
import { readStreamMappings, type StreamMapping } from './mappings.js';
import { onFailureRecord, type StreamEvent, type StreamEventRecord, toEventRecord } from './records.js';

/** Invokes a function of the template; `LocalLambdas.invoke` fits. A throw is a function error. */
export type StreamInvoker = (functionId: string, event: StreamEvent) => Promise<unknown>;

export type StreamLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface StreamTriggerOptions {
  readonly template: CfnTemplate;
  readonly invoke: StreamInvoker;
  /** The DynamoDB engine; its streams API answers on the same endpoint. */
  readonly dynamoEndpoint: string;
  /** Table logical id → local table name. Mappings on tables missing here are an error. */
  readonly tableNames: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Queue logical id → local queue URL (ElasticMQ), for on-failure destinations. */
  readonly queueUrls?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Where checkpoints persist (one JSON file per mapping); undefined: in memory only. */
  readonly checkpointDir?: string;
  /** Region in event records and ARNs; default AWS_REGION or us-east-1. */
  readonly region?: string;
  readonly accountId?: string;
  /** Only run the mappings this accepts (e.g. those whose function the runtime can load). */
  readonly include?: (mapping: StreamMapping) => boolean;
  /**
   * Delay between polls of a shard that is at its tip while records came in the last 10 s; default 50 ms.
   * A full page is followed at once.
   */
  readonly pollIntervalMs?: number;
  /** Delay between polls of a shard that has been quiet for 10 s; default 100 ms. */
  readonly idlePollIntervalMs?: number;
  /** How often shards are listed again (DescribeStream) to find new ones; default 2000 ms. */
  readonly discoveryIntervalMs?: number;
  /** Backoff before retries of a failed batch; default 20 ms doubling up to 1000 ms. */
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Delay before a checkpoint change is written to disk (writes are coalesced); default 100 ms. */
  readonly checkpointDelayMs?: number;
  readonly log?: StreamLog;
  /** Clients to use instead of ones built from the endpoints (tests). */
  readonly clients?: {
    readonly dynamodb?: DynamoDBClient;
    readonly streams?: DynamoDBStreamsClient;
    readonly sqs?: SQSClient;
  };
}

export interface StreamTriggerStats {
  /** Function invocations. */
  invocations: number;
  /** Records read from the streams. */
  recordsRead: number;
  /** Records dropped by FilterCriteria (never delivered). */
  recordsFiltered: number;
  /** Records passed to the function, counting every redelivery. */
  recordsDelivered: number;
  /** Records the function processed successfully. */
  recordsSucceeded: number;
  /** Invocations that retried records after a failure (bisected halves not included). */
  retries: number;
  bisections: number;
  /** Invocations that threw or timed out. */
  functionErrors: number;
  /** Invocations that returned a non-empty, valid batchItemFailures. */
  partialFailures: number;
  /** Invocations whose batchItemFailures was unusable (the whole batch failed). */
  invalidResponses: number;
  /** Records described by on-failure records sent to the destination queue. */
  sentToDlq: number;
  /** On-failure records sent. */
  dlqMessages: number;
  /** Records given up on with no usable destination. */
  discarded: number;
  /** Shard iterators re-acquired after ExpiredIterator/TrimmedDataAccess. */
  iteratorResets: number;
}

export interface StreamTriggers {
  /** The mappings being run. */
  readonly mappings: readonly StreamMapping[];
  /** Counters of one mapping, or the sum over all of them. */
  stats(mappingId?: string): StreamTriggerStats;
  /**
   * Resolves once every shard (of one mapping, or of all) has been polled after this call without finding new
   * records and every record read is done (delivered, retried, given up on): the streams are drained.
   * Rejects after `timeoutMs` (default 60 s) with the state of each shard.
   */
  idle(options?: { readonly mappingId?: string; readonly timeoutMs?: number }): Promise<void>;
  /** Stops polling, waits for in-flight invocations, writes checkpoints. Safe to call twice. */
  stop(): Promise<void>;
}

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 16 * 1024;
const GET_RECORDS_MAX = 1000;
/** A shard with no new records for this long is polled at the idle interval. */
const QUIET_AFTER_MS = 10_000;
/**
 * ApproximateCreationDateTime is rounded down to the second (AWS and the local engine alike): the record may be
 * up to this much younger than it says, and is never judged older than it can be.
 */
const CREATION_TIME_SLACK_MS = 1_000;

/**
 * Starts polling every DynamoDB stream mapping of the template. Resolves once each mapping has found its
 * stream and fixed its starting positions (so a write made after this resolves is delivered even with
 * StartingPosition LATEST); a mapping whose table or stream is missing logs and keeps trying.
 */
export async function startStreamTriggers(options: StreamTriggerOptions): Promise<StreamTriggers> {
  const mappings = readStreamMappings(options.template).filter(
    (m) => m.enabled && (options.include?.(m) ?? true),
  );
  for (const m of mappings) {
    if (!lookup(options.tableNames, m.tableId)) {
      throw new Error(`Stream mapping ${m.id}: no local table name for ${m.tableId}`);
    }
  }
  const ctx = new Context(options);
  let runners: MappingRunner[];
  try {
    runners = mappings.map((m) => new MappingRunner(ctx, m));
  } catch (err) {
    ctx.destroy();
    throw err;
  }
  await Promise.all(runners.map((r) => r.start()));

  let stopping: Promise<void> | undefined;
  return {
    mappings,
    stats(mappingId) {
      const selected = mappingId ? runners.filter((r) => r.mapping.id === mappingId) : runners;
      if (mappingId && selected.length === 0) throw new Error(`No running stream mapping ${mappingId}`);
      const total = emptyStats();
      for (const r of selected) {
        for (const key of Object.keys(total) as Array<keyof StreamTriggerStats>) total[key] += r.stats[key];
      }
      return total;
    },
    async idle({ mappingId, timeoutMs = 60_000 } = {}) {
      const selected = mappingId ? runners.filter((r) => r.mapping.id === mappingId) : runners;
      if (mappingId && selected.length === 0) throw new Error(`No running stream mapping ${mappingId}`);
      const since = performance.now();
      const deadline = since + timeoutMs;
      while (!selected.every((r) => r.isIdle(since))) {
        if (ctx.stopping) throw new Error('Stream triggers stopped while waiting for idle');
        if (performance.now() > deadline) {
          throw new Error(
            `Streams not idle after ${timeoutMs} ms:\n${selected.map((r) => r.describe()).join('\n')}`,
          );
        }
        await ctx.sleep(10);
      }
    },
    stop() {
      stopping ??= (async () => {
        ctx.stopping = true;
        ctx.abort.abort();
        await Promise.all(runners.map((r) => r.stopped()));
        await ctx.store.flush();
        ctx.destroy();
      })();
      return stopping;
    },
  };
}

function emptyStats(): StreamTriggerStats {
  return {
    invocations: 0,
    recordsRead: 0,
    recordsFiltered: 0,
    recordsDelivered: 0,
    recordsSucceeded: 0,
    retries: 0,
    bisections: 0,
    functionErrors: 0,
    partialFailures: 0,
    invalidResponses: 0,
    sentToDlq: 0,
    dlqMessages: 0,
    discarded: 0,
    iteratorResets: 0,
  };
}

/** A wake-up call: `wait()` returns on `notify()`, on timeout or when the triggers stop. */
class Signal {
  private readonly wakers = new Set<() => void>();

  constructor(private readonly abort: AbortSignal) {}

  notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  wait(timeoutMs?: number): Promise<void> {
    if (this.abort.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        this.abort.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.add(done);
      this.abort.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs));
    });
  }
}

/** Thrown inside a lane when stopping interrupts the delivery of an on-failure record. */
class Stopped extends Error {}

/** What every mapping shares: options, clients, the checkpoint store, the stop switch. */
class Context {
  readonly abort = new AbortController();
  stopping = false;
  readonly region: string;
  readonly accountId: string;
  readonly pollIntervalMs: number;
  readonly idlePollIntervalMs: number;
  readonly discoveryIntervalMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly store: CheckpointStore;
  readonly log: StreamLog;
  private readonly sqsClients = new Map<string, SQSClient>();
  private readonly owned: Array<{ destroy(): void }> = [];

  constructor(readonly options: StreamTriggerOptions) {
    setMaxListeners(0, this.abort.signal);
    this.region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.idlePollIntervalMs = Math.max(this.pollIntervalMs, options.idlePollIntervalMs ?? 100);
    this.discoveryIntervalMs = options.discoveryIntervalMs ?? 2000;
    this.backoff = options.retryBackoff ?? { initialMs: 20, maxMs: 1000 };
    this.log = options.log ?? defaultLog;
    const config = {
      endpoint: options.dynamoEndpoint,
      region: this.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    this.dynamodb = options.clients?.dynamodb ?? this.own(new DynamoDBClient(config));
    this.streams = options.clients?.streams ?? this.own(new DynamoDBStreamsClient(config));
    this.store = new CheckpointStore(options.checkpointDir, options.checkpointDelayMs ?? 100, (err) =>
      this.log('error', `checkpoint: ${errorMessage(err)}`),
    );
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  sqsFor(queueUrl: string): SQSClient {
    if (this.options.clients?.sqs) return this.options.clients.sqs;
    const origin = new URL(queueUrl).origin;
    let client = this.sqsClients.get(origin);
    if (!client) {
      client = this.own(
        new SQSClient({
          endpoint: origin,
          region: this.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      this.sqsClients.set(origin, client);
    }
    return client;
  }

  sleep(ms: number): Promise<void> {
    return new Signal(this.abort.signal).wait(ms);
  }

  destroy(): void {
    for (const client of this.owned) client.destroy();
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.owned.push(client);
    return client;
  }
}

const defaultLog: StreamLog = (level, message) => {
  if (level === 'error') console.error(`[streams] ${message}`);
  else if (level === 'warn') console.warn(`[streams] ${message}`);
  else if (process.env.CHAT_STREAMS_DEBUG) console.info(`[streams] ${level}: ${message}`);
};

/** One event source mapping: its stream, shards, checkpoint and counters. */
class MappingRunner {
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
    const shards = sortParentsFirst(await this.listShards(arn));
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
            : await this.latestPosition(arn, id);
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
    const listed = await this.listShards(this.streamArn);
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

  private async listShards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await this.ctx.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
        { abortSignal: this.ctx.signal },
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  /** LATEST made concrete: the last sequence number in the shard now, so that it can be persisted. */
  private async latestPosition(streamArn: string, shardId: string): Promise<ShardCheckpoint> {
    const first = await this.ctx.streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
      { abortSignal: this.ctx.signal },
    );
    let iterator = first.ShardIterator;
    let last: string | undefined;
    while (iterator) {
      const page = await this.ctx.streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_MAX }),
        { abortSignal: this.ctx.signal },
      );
      const records = page.Records ?? [];
      if (records.length === 0) break;
      last = records[records.length - 1]?.dynamodb?.SequenceNumber ?? last;
      iterator = page.NextShardIterator;
    }
    return last ? { after: last } : {};
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

interface Entry {
  readonly record: StreamEventRecord;
  readonly position: number;
  readonly bytes: number;
  /** performance.now() when it reached its lane (batching window). */
  readonly enqueuedAt: number;
  /** Best estimate of its creation time, epoch ms (record age). */
  readonly createdAt: number;
}

/** One shard of a mapping's stream: a reader filling lanes, and the checkpoint of the shard. */
class ShardRunner {
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

/** Records of a shard processed in order, one batch at a time (one lane per ParallelizationFactor). */
class Lane {
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
        await this.process(batch);
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

  /** Runs the batch to completion (success, or given up on); returns early only when stopping. */
  private async process(batch: readonly Entry[]): Promise<void> {
    const runner = this.shard.mapping;
    const { ctx, mapping, stats } = runner;
    const records = batch.map((e) => e.record);
    const seqs = records.map((r) => r.dynamodb.SequenceNumber);
    const plan = new BatchPlan(
      batch.length,
      {
        maximumRetryAttempts: mapping.maximumRetryAttempts,
        bisectBatchOnFunctionError: mapping.bisectBatchOnFunctionError,
        maximumRecordAgeMs: mapping.maximumRecordAgeSeconds < 0 ? -1 : mapping.maximumRecordAgeSeconds * 1000,
      },
      (i) => (batch[i] as Entry).createdAt,
    );
    try {
      for (let step = plan.next(Date.now()); step.kind !== 'done'; step = plan.next(Date.now())) {
        if (step.kind === 'fail') {
          await this.giveUp(records.slice(step.start, step.end), step);
          this.shard.complete(batch.slice(step.start, step.end));
          continue;
        }
        if (ctx.stopping) return;
        if (step.retry > 0) {
          stats.retries++;
          await ctx.sleep(retryDelayMs(step.retry, ctx.backoff.initialMs, ctx.backoff.maxMs));
          if (ctx.stopping) return;
        }
        const slice = records.slice(step.start, step.end);
        stats.invocations++;
        stats.recordsDelivered += slice.length;
        let outcome: InvokeOutcome;
        try {
          // Lambda serializes the event for every invocation: a handler mutating it cannot affect a retry.
          const response = await ctx.options.invoke(mapping.functionId, { Records: structuredClone(slice) });
          outcome = interpretResponse(
            seqs.slice(step.start, step.end),
            response,
            mapping.reportBatchItemFailures,
          );
          if (outcome.kind === 'partial') stats.partialFailures++;
          if (outcome.kind === 'failure') {
            stats.invalidResponses++;
            runner.logAs('warn', `${outcome.message}: the whole batch of ${slice.length} failed`);
          }
        } catch (err) {
          stats.functionErrors++;
          outcome = { kind: 'failure', functionError: 'Unhandled', message: errorMessage(err) };
          runner.logAs(
            step.retry % 10 === 0 ? 'warn' : 'debug',
            `${mapping.functionId} failed on ${slice.length} record(s)${step.retry ? ` (retry ${step.retry})` : ''}: ${outcome.message}`,
          );
        }
        const bisections = plan.bisections;
        const { succeeded } = plan.report(outcome);
        stats.bisections += plan.bisections - bisections;
        if (succeeded) {
          stats.recordsSucceeded += succeeded.end - succeeded.start;
          this.shard.complete(batch.slice(succeeded.start, succeeded.end));
        }
      }
    } catch (err) {
      if (err instanceof Stopped) return;
      throw err;
    }
  }

  /** Sends the on-failure record (retrying until it is accepted or the triggers stop). */
  private async giveUp(
    records: StreamEventRecord[],
    step: {
      condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
      approximateInvokeCount: number;
      functionError?: string;
    },
  ): Promise<void> {
    const runner = this.shard.mapping;
    const { ctx, stats } = runner;
    const queueUrl = runner.queueUrl;
    const first = records[0]?.dynamodb.SequenceNumber;
    const last = records[records.length - 1]?.dynamodb.SequenceNumber;
    if (!queueUrl) {
      stats.discarded += records.length;
      runner.logAs('warn', `${step.condition}: dropped ${records.length} record(s) ${first}..${last}`);
      return;
    }
    const body = JSON.stringify(
      onFailureRecord({
        requestId: randomUUID(),
        functionArn: runner.functionArn,
        condition: step.condition,
        approximateInvokeCount: step.approximateInvokeCount,
        functionError: step.functionError,
        shardId: this.shard.id,
        streamArn: runner.streamArn,
        records,
        now: new Date(),
      }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.sqsFor(queueUrl).send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }), {
          abortSignal: ctx.signal,
        });
        break;
      } catch (err) {
        if (ctx.stopping) throw new Stopped();
        runner.logAs('warn', `sending to the on-failure queue failed (${errorMessage(err)}); retrying`);
        await ctx.sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
        if (ctx.stopping) throw new Stopped();
      }
    }
    stats.sentToDlq += records.length;
    stats.dlqMessages++;
    runner.logAs(
      'info',
      `${step.condition}: sent ${records.length} record(s) ${first}..${last} to the on-failure queue`,
    );
  }
}

/** Parents before children, so that a shard's parent is known when the shard is. */
function sortParentsFirst(shards: readonly Shard[]): Shard[] {
  const byId = new Map(shards.map((s) => [s.ShardId as string, s]));
  const out: Shard[] = [];
  const seen = new Set<string>();
  const visit = (shard: Shard) => {
    const id = shard.ShardId as string;
    if (seen.has(id)) return;
    seen.add(id);
    const parent = shard.ParentShardId ? byId.get(shard.ParentShardId) : undefined;
    if (parent) visit(parent);
    out.push(shard);
  };
  for (const shard of shards) visit(shard);
  return out;
}

function lookup(
  map: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined,
  key: string,
): string | undefined {
  if (!map) return undefined;
  if (map instanceof Map) return map.get(key);
  return Object.hasOwn(map, key) ? (map as Record<string, string>)[key] : undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`;
  return String(err);
}
