// The local stream trigger's entry point: polls the DynamoDB streams of the template's event source mappings and
// invokes the mapped functions as Lambda's event source mapping does (per-shard order, batching, shard lineage,
// ReportBatchItemFailures, bisection, retries, record age, on-failure destination, filtering, checkpoints).
// This file starts and stops the mappings and answers for all of them (stats, idle); each concern lives in
// its own file: mapping-runner (the mapping loop), shard-discovery, shard-reader, lane (batching),
// batch-delivery (retries, bisection), failure-destination (the dead-letter queue), stats, context, signal.
import { Context } from './context.js';
import { MappingRunner } from './mapping-runner.js';
import { readStreamMappings, type StreamMapping } from './mappings.js';
import { addStats, emptyStats, type StreamTriggerStats } from './stats.js';
import { lookup, type StreamTriggerOptions } from './trigger-options.js';

export type { StreamTriggerStats } from './stats.js';
export type { StreamInvoker, StreamLog, StreamTriggerOptions } from './trigger-options.js';

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
      for (const r of selected) addStats(total, r.stats);
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
