import { describe, expect, it } from 'vitest';
import {
  BatchPlan,
  type InvokeOutcome,
  interpretResponse,
  type PlanStep,
  Watermark,
} from '#local/streams/index.js';

const seqs = ['100', '200', '300', '400', '500'];

describe('reading a function response (ReportBatchItemFailures)', () => {
  it('treats empty and null answers as success', () => {
    for (const response of [
      undefined,
      null,
      {},
      [],
      'ok',
      42,
      { batchItemFailures: [] },
      { batchItemFailures: null },
    ]) {
      expect(interpretResponse(seqs, response, true), JSON.stringify(response)).toEqual({ kind: 'success' });
    }
  });

  it('checkpoints before the lowest failed sequence number', () => {
    expect(interpretResponse(seqs, { batchItemFailures: [{ itemIdentifier: '300' }] }, true)).toEqual({
      kind: 'partial',
      firstFailed: 2,
    });
    const several = { batchItemFailures: [{ itemIdentifier: '500' }, { itemIdentifier: '200' }] };
    expect(interpretResponse(seqs, several, true)).toEqual({ kind: 'partial', firstFailed: 1 });
  });

  it('fails the whole batch on an invalid identifier', () => {
    for (const failure of [
      { itemIdentifier: 123 },
      { itemIdentifier: '' },
      { itemIdentifier: null },
      { foo: '300' },
      { itemIdentifier: '999' },
    ]) {
      const outcome = interpretResponse(
        seqs,
        { batchItemFailures: [{ itemIdentifier: '300' }, failure] },
        true,
      );
      expect(outcome.kind, JSON.stringify(failure)).toBe('failure');
    }
    expect(interpretResponse(seqs, { batchItemFailures: 'x' }, true).kind).toBe('failure');
  });

  it('ignores the response without ReportBatchItemFailures', () => {
    expect(interpretResponse(seqs, { batchItemFailures: [{ itemIdentifier: '300' }] }, false)).toEqual({
      kind: 'success',
    });
  });
});

/** Runs a plan with scripted outcomes; returns the steps taken. */
function run(
  plan: BatchPlan,
  outcome: (step: Extract<PlanStep, { kind: 'invoke' }>, n: number) => InvokeOutcome,
  now = () => 0,
): { steps: PlanStep[]; succeeded: Array<[number, number]> } {
  const steps: PlanStep[] = [];
  const succeeded: Array<[number, number]> = [];
  for (let step = plan.next(now()), n = 0; step.kind !== 'done'; step = plan.next(now())) {
    steps.push(step);
    if (step.kind === 'invoke') {
      const result = plan.report(outcome(step, n++));
      if (result.succeeded) succeeded.push([result.succeeded.start, result.succeeded.end]);
    }
    if (steps.length > 1000) throw new Error('runaway plan');
  }
  return { steps, succeeded };
}

const policy = { maximumRetryAttempts: 2, bisectBatchOnFunctionError: false, maximumRecordAgeMs: -1 };
const fail: InvokeOutcome = { kind: 'failure', functionError: 'Unhandled', message: 'boom' };
const ranges = (steps: PlanStep[]) =>
  steps.map((s) =>
    s.kind === 'invoke' ? `${s.start}-${s.end}` : s.kind === 'fail' ? `DLQ ${s.start}-${s.end}` : '',
  );

describe('batch plan', () => {
  it('a successful batch is one invocation', () => {
    const { steps, succeeded } = run(new BatchPlan(5, policy, () => 0), () => ({ kind: 'success' }));
    expect(ranges(steps)).toEqual(['0-5']);
    expect(succeeded).toEqual([[0, 5]]);
  });

  it('partial failure: records before the lowest failure are done, the retry starts at it', () => {
    let first = true;
    const { steps, succeeded } = run(new BatchPlan(5, policy, () => 0), () => {
      if (!first) return { kind: 'success' };
      first = false;
      return { kind: 'partial', firstFailed: 2 };
    });
    expect(ranges(steps)).toEqual(['0-5', '2-5']);
    expect(steps[1]).toMatchObject({ retry: 1 });
    expect(succeeded).toEqual([
      [0, 2],
      [2, 5],
    ]);
  });

  it('a record failing every time: retried MaximumRetryAttempts times, then its suffix goes to the DLQ', () => {
    const { steps, succeeded } = run(new BatchPlan(5, policy, () => 0), () => ({
      kind: 'partial',
      firstFailed: 0,
    }));
    expect(ranges(steps)).toEqual(['0-5', '0-5', '0-5', 'DLQ 0-5']);
    expect(steps[3]).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
    expect(succeeded).toEqual([]);
  });

  it('partial failures that make progress do not use up the retries of later records', () => {
    // Each invocation fails at its second record: every record fails exactly once.
    const { steps, succeeded } = run(
      new BatchPlan(5, { ...policy, maximumRetryAttempts: 1 }, () => 0),
      (s) => (s.end - s.start > 1 ? { kind: 'partial', firstFailed: 1 } : { kind: 'success' }),
    );
    expect(ranges(steps)).toEqual(['0-5', '1-5', '2-5', '3-5', '4-5']);
    expect(steps.map((s) => (s.kind === 'invoke' ? s.retry : -1))).toEqual([0, 1, 1, 1, 1]);
    expect(succeeded.at(-1)).toEqual([4, 5]);
  });

  it('function errors without bisection retry the whole batch', () => {
    const { steps } = run(new BatchPlan(4, { ...policy, maximumRetryAttempts: 1 }, () => 0), () => fail);
    expect(ranges(steps)).toEqual(['0-4', '0-4', 'DLQ 0-4']);
    expect(steps[2]).toMatchObject({ approximateInvokeCount: 2, functionError: 'Unhandled' });
  });

  it('bisection isolates a poison record without using retries; everything else succeeds', () => {
    const poison = 6;
    const bisect = { maximumRetryAttempts: 1, bisectBatchOnFunctionError: true, maximumRecordAgeMs: -1 };
    const { steps, succeeded } = run(new BatchPlan(10, bisect, () => 0), (s) =>
      s.start <= poison && poison < s.end ? fail : { kind: 'success' },
    );
    expect(ranges(steps)).toEqual([
      '0-10',
      '0-5',
      '5-10',
      '5-8',
      '5-7',
      '5-6',
      '6-7',
      '6-7',
      'DLQ 6-7',
      '7-8',
      '8-10',
    ]);
    // Splits do not count as retries: the isolated record gets its own MaximumRetryAttempts.
    expect(
      steps.filter((s) => s.kind === 'invoke' && s.retry > 0).map((s) => (s as { start: number }).start),
    ).toEqual([6]);
    // Record 6 was in 0-10, 5-10, 5-8, 5-7 and twice alone.
    expect(steps[8]).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 6 });
    const done = succeeded.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9]);
  });

  it('a partial failure with bisection splits at the failed record', () => {
    let first = true;
    const bisect = { ...policy, bisectBatchOnFunctionError: true };
    const { steps } = run(new BatchPlan(5, bisect, () => 0), () => {
      if (!first) return { kind: 'success' };
      first = false;
      return { kind: 'partial', firstFailed: 3 };
    });
    expect(ranges(steps)).toEqual(['0-5', '3-5']);
  });

  it('records older than MaximumRecordAge go to the DLQ before any further invocation', () => {
    let now = 1_000;
    const created = [0, 100, 5_000, 6_000];
    const plan = new BatchPlan(
      4,
      { ...policy, maximumRetryAttempts: -1, maximumRecordAgeMs: 2_000 },
      (i) => created[i] ?? 0,
    );
    const { steps, succeeded } = run(
      plan,
      (s) => {
        now += 2_000; // every attempt takes 2 s
        return s.start < 2 ? fail : { kind: 'success' };
      },
      () => now,
    );
    // t=1000: all young. Fails; t=3000: records 0 and 1 are older than 2 s.
    expect(ranges(steps)).toEqual(['0-4', 'DLQ 0-2', '2-4']);
    expect(steps[1]).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 1 });
    expect(succeeded).toEqual([[2, 4]]);
  });

  it('infinite retries keep retrying', () => {
    let n = 0;
    const plan = new BatchPlan(1, { ...policy, maximumRetryAttempts: -1 }, () => 0);
    const { steps } = run(plan, () => (++n < 50 ? fail : { kind: 'success' }));
    expect(steps).toHaveLength(50);
  });
});

describe('watermark', () => {
  it('moves over the done prefix only, whatever the completion order', () => {
    const w = new Watermark();
    const p = ['1', '2', '3', '4'].map((s) => w.add(s));
    w.complete(p[1] as number);
    w.complete(p[3] as number);
    expect(w.advance()).toBeUndefined();
    expect(w.pending).toBe(2);
    w.complete(p[0] as number);
    expect(w.advance()).toBe('2');
    w.complete(p[2] as number);
    expect(w.advance()).toBe('4');
    expect(w.pending).toBe(0);
  });

  it('stays consistent over many records (compaction)', () => {
    const w = new Watermark();
    let last: string | undefined;
    for (let i = 0; i < 5000; i++) {
      w.complete(w.add(String(i)));
      last = w.advance() ?? last;
    }
    expect(last).toBe('4999');
    const p = w.add('x');
    expect(w.pending).toBe(1);
    w.complete(p);
    expect(w.advance()).toBe('x');
  });
});
