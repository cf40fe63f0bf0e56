import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type DeleteCommand,
  type PutCommand,
  TransactWriteCommand,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DocClient } from '../clients/dynamodb.js';
import { RetryableError } from '../retry.js';

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

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/**
 * Runs a transaction. Resolves with nothing when it committed, with the per-item cancellation codes
 * when a condition failed (so the caller maps each to a result), and throws RetryableError when it
 * only lost a race or was throttled (nothing was written; try again).
 */
export async function transactWrite(client: DocClient, items: TransactItems): Promise<string[] | undefined> {
  try {
    await client.send(new TransactWriteCommand({ TransactItems: items }));
    return undefined;
  } catch (err) {
    const reasons = cancellationReasons(err);
    if (!reasons) throw err;
    if (isRetryableCancellation(reasons)) throw new RetryableError('transaction lost a race', { cause: err });
    return reasons.map((r) => r.code);
  }
}

/**
 * Sends one conditional single-item write (Put, Update or Delete). Resolves true when it was written,
 * false when its condition failed (nothing was written); any other error is thrown.
 */
export async function conditionalWrite(
  client: DocClient,
  command: PutCommand | UpdateCommand | DeleteCommand,
): Promise<boolean> {
  try {
    // One overload per command class; the union needs the widest one.
    await client.send(command as UpdateCommand);
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
