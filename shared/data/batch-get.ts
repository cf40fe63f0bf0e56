import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { DocClient } from '../clients/dynamodb.js';

/** BatchGetItem's per-call limit. */
const BATCH = 100;

/**
 * Batch read of many keys of one table (100 per call), retrying unprocessed keys; missing items are
 * simply absent from the result. Strongly consistent unless `consistent: false` (half the read cost,
 * for callers that check again before acting on an absence).
 */
export async function batchGetAll<T>(
  client: DocClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  options: { consistent?: boolean } = {},
): Promise<T[]> {
  const consistent = options.consistent ?? true;
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += BATCH) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + BATCH) as Record<
      string,
      unknown
    >[];
    for (let attempt = 0; pending?.length; attempt++) {
      const res = await client.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } } }),
      );
      out.push(...((res.Responses?.[tableName] ?? []) as T[]));
      pending = res.UnprocessedKeys?.[tableName]?.Keys as Record<string, unknown>[] | undefined;
      if (pending?.length)
        await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * Math.random()));
    }
  }
  return out;
}
