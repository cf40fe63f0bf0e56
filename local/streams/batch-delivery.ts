// Batch delivery: invokes the mapped function with one batch and follows the retry policy of batch.ts
// (ReportBatchItemFailures, BisectBatchOnFunctionError, MaximumRetryAttempts, MaximumRecordAgeInSeconds, backoff)
// until every record succeeded or was given up on (to the on-failure destination).
import { BatchPlan, type InvokeOutcome, interpretResponse, retryDelayMs } from './batch.js';
import { errorMessage } from './context.js';
import { sendToFailureDestination, TriggersStopped } from './failure-destination.js';
import type { Entry } from './lane.js';
import type { ShardRunner } from './shard-reader.js';

/** Runs the batch to completion (success, or given up on); returns early only when stopping. */
export async function deliverBatch(shard: ShardRunner, batch: readonly Entry[]): Promise<void> {
  const runner = shard.mapping;
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
        await sendToFailureDestination(shard, records.slice(step.start, step.end), step);
        shard.complete(batch.slice(step.start, step.end));
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
        shard.complete(batch.slice(succeeded.start, succeeded.end));
      }
    }
  } catch (err) {
    if (err instanceof TriggersStopped) return;
    throw err;
  }
}
