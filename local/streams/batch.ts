// The decisions Lambda's stream event source mapping makes about one batch, kept free of I/O so that they can
// be tested on their own: how a function's response is read (ReportBatchItemFailures), and what comes next
// after each invocation (retry, retry from the lowest failed record, bisect, give up to the on-failure
// destination, drop records that are too old).
import type { FailureCondition } from './records.js';

export type InvokeOutcome =
  /** Every record is done. */
  | { readonly kind: 'success' }
  /** Records before `firstFailed` (an index in the invoked batch) are done; retry from it. */
  | { readonly kind: 'partial'; readonly firstFailed: number }
  /** The function threw or timed out (`functionError` set), or its response was not usable. */
  | { readonly kind: 'failure'; readonly functionError?: string; readonly message: string };

/**
 * Reads a function's response as Lambda does. Without ReportBatchItemFailures any response is a success.
 * With it: null, a non-object, a missing/null/empty `batchItemFailures` are a success; a failure whose
 * `itemIdentifier` is missing, not a string, empty or not the sequence number of a record of the batch makes
 * the whole batch fail; otherwise the lowest failed record is where the retry starts.
 */
export function interpretResponse(
  sequenceNumbers: readonly string[],
  response: unknown,
  reportBatchItemFailures: boolean,
): InvokeOutcome {
  if (!reportBatchItemFailures) return { kind: 'success' };
  if (response === null || typeof response !== 'object' || Array.isArray(response))
    return { kind: 'success' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', message: 'batchItemFailures is not a list' };
  }
  if (failures.length === 0) return { kind: 'success' };
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id !== '' ? sequenceNumbers.indexOf(id) : -1;
    if (index < 0) {
      return {
        kind: 'failure',
        message: `invalid itemIdentifier ${JSON.stringify(id)} in batchItemFailures`,
      };
    }
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', firstFailed: lowest };
}

export interface RetryPolicy {
  /** -1: retry until the record expires. */
  readonly maximumRetryAttempts: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: no limit. */
  readonly maximumRecordAgeMs: number;
}

export type PlanStep =
  /** Invoke with the records [start, end); `retry` counts earlier failed attempts of this very range. */
  | { readonly kind: 'invoke'; readonly start: number; readonly end: number; readonly retry: number }
  /** Give up on [start, end): describe them to the on-failure destination, then they count as done. */
  | {
      readonly kind: 'fail';
      readonly start: number;
      readonly end: number;
      readonly condition: FailureCondition;
      readonly approximateInvokeCount: number;
      readonly functionError?: string;
    }
  | { readonly kind: 'done' };

interface Segment {
  start: number;
  end: number;
  retries: number;
}

/**
 * Drives one batch of `size` records (indices 0..size-1, in stream order) to completion. Call `next(now)`,
 * perform the step, and for an `invoke` step call `report(outcome)` before asking again.
 *
 * - Success: the range is done.
 * - Partial failure: records before the lowest failed one are done; the rest is retried. Retries count the
 *   failures of the record the retry starts with (a partial failure at the same record uses one more).
 * - Failure with bisection on and more than one record: the range is split in two halves, processed in
 *   order; splitting uses no retry. Otherwise the same range is retried (one retry used).
 * - More than `maximumRetryAttempts` retries: the range goes to the on-failure destination.
 * - Before every invocation, records older than `maximumRecordAgeMs` (a prefix, records being in order) go to
 *   the on-failure destination as RecordAgeExceeded.
 */
export class BatchPlan {
  private readonly stack: Segment[];
  private readonly invokeCounts: number[];
  private readonly pendingFailures: Array<Extract<PlanStep, { kind: 'fail' }>> = [];
  private current: Segment | undefined;
  private lastFunctionError: string | undefined;
  /** Counters for statistics. */
  bisections = 0;

  constructor(
    readonly size: number,
    private readonly policy: RetryPolicy,
    /** Best estimate of each record's creation time (epoch ms). */
    private readonly createdAt: (index: number) => number,
  ) {
    this.stack = size > 0 ? [{ start: 0, end: size, retries: 0 }] : [];
    this.invokeCounts = new Array<number>(size).fill(0);
  }

  next(now: number): PlanStep {
    if (this.current) throw new Error('report() the outcome of the last invocation first');
    const failure = this.pendingFailures.shift();
    if (failure) return failure;
    for (let seg = this.top(); seg; seg = this.top()) {
      if (seg.start >= seg.end) {
        this.stack.pop();
        continue;
      }
      if (this.policy.maximumRecordAgeMs >= 0) {
        let k = seg.start;
        while (k < seg.end && now - this.createdAt(k) > this.policy.maximumRecordAgeMs) k++;
        if (k > seg.start) {
          const start = seg.start;
          seg.start = k;
          return this.failStep(start, k, 'RecordAgeExceeded');
        }
      }
      for (let i = seg.start; i < seg.end; i++) this.invokeCounts[i] = (this.invokeCounts[i] ?? 0) + 1;
      this.current = seg;
      return { kind: 'invoke', start: seg.start, end: seg.end, retry: seg.retries };
    }
    return { kind: 'done' };
  }

  /** Applies the outcome of the last `invoke` step; returns the range that succeeded, if any. */
  report(outcome: InvokeOutcome): { readonly succeeded?: { readonly start: number; readonly end: number } } {
    const seg = this.current;
    if (!seg) throw new Error('No invocation to report on');
    this.current = undefined;
    if (outcome.kind === 'success') {
      this.stack.pop();
      return { succeeded: { start: seg.start, end: seg.end } };
    }
    if (outcome.kind === 'partial') {
      const start = seg.start;
      const firstFailed = Math.min(Math.max(outcome.firstFailed, 0), seg.end - seg.start);
      seg.start += firstFailed;
      this.lastFunctionError = undefined;
      // Retries count failures of the record at the checkpoint: when it moved, the new one failed once.
      if (firstFailed > 0) seg.retries = 0;
      this.retryOrGiveUp(seg);
      return firstFailed > 0 ? { succeeded: { start, end: start + firstFailed } } : {};
    }
    this.lastFunctionError = outcome.functionError;
    if (this.policy.bisectBatchOnFunctionError && seg.end - seg.start > 1) {
      this.stack.pop();
      const mid = seg.start + Math.ceil((seg.end - seg.start) / 2);
      this.stack.push({ start: mid, end: seg.end, retries: seg.retries });
      this.stack.push({ start: seg.start, end: mid, retries: seg.retries });
      this.bisections++;
      return {};
    }
    this.retryOrGiveUp(seg);
    return {};
  }

  private retryOrGiveUp(seg: Segment): void {
    if (seg.start >= seg.end) {
      this.stack.pop();
      return;
    }
    seg.retries++;
    const max = this.policy.maximumRetryAttempts;
    if (max >= 0 && seg.retries > max) {
      this.stack.pop();
      this.pendingFailures.push(this.failStep(seg.start, seg.end, 'RetryAttemptsExhausted'));
    }
  }

  private failStep(
    start: number,
    end: number,
    condition: FailureCondition,
  ): Extract<PlanStep, { kind: 'fail' }> {
    let count = 0;
    for (let i = start; i < end; i++) count = Math.max(count, this.invokeCounts[i] ?? 0);
    const step: Extract<PlanStep, { kind: 'fail' }> = {
      kind: 'fail',
      start,
      end,
      condition,
      approximateInvokeCount: count,
    };
    return count > 0 && this.lastFunctionError ? { ...step, functionError: this.lastFunctionError } : step;
  }

  private top(): Segment | undefined {
    return this.stack[this.stack.length - 1];
  }
}

/** Exponential backoff before the n-th retry (n >= 1) of a range. */
export function retryDelayMs(retry: number, initialMs: number, maxMs: number): number {
  if (retry <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(retry - 1, 30));
}
