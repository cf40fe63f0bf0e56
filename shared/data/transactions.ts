import { type AttributeValue, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** One cancellation reason per transaction item, in item order (`None` for items that passed). */
export type CancellationCode =
  | 'None'
  | 'ConditionalCheckFailed'
  | 'TransactionConflict'
  | 'ThrottlingError'
  | string;

export interface CancellationReason {
  code: CancellationCode;
  /** The item as it was, when the request asked for `ReturnValuesOnConditionCheckFailure: ALL_OLD`. */
  item?: Record<string, unknown>;
}

const RETRYABLE = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** The per-item reasons of a cancelled transaction, or undefined for any other error. */
export function cancellationReasons(err: unknown): CancellationReason[] | undefined {
  if (
    !(err instanceof TransactionCanceledException) &&
    (err as Error)?.name !== 'TransactionCanceledException'
  ) {
    return undefined;
  }
  const reasons = (err as TransactionCanceledException).CancellationReasons ?? [];
  return reasons.map((r) => ({
    code: r.Code ?? 'None',
    // The document client does not unmarshall cancellation reasons.
    item: r.Item ? unmarshall(r.Item as Record<string, AttributeValue>) : undefined,
  }));
}

/** True when the transaction lost a race or was throttled: worth retrying, nothing was written. */
export function isRetryableCancellation(reasons: readonly CancellationReason[]): boolean {
  const failed = reasons.filter((r) => r.code !== 'None');
  return failed.length > 0 && failed.every((r) => RETRYABLE.has(r.code));
}
