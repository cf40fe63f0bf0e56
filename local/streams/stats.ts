// Statistics of the local stream triggers: the counters each mapping keeps and their sum over mappings.

/** Counters of one mapping (or a sum over mappings); every field counts since the triggers started. */
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

/** All counters at zero. */
export function emptyStats(): StreamTriggerStats {
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

/** Adds the counters of `add` into `total`. */
export function addStats(total: StreamTriggerStats, add: Readonly<StreamTriggerStats>): void {
  for (const key of Object.keys(total) as Array<keyof StreamTriggerStats>) total[key] += add[key];
}
