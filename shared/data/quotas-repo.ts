import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

export type SpendResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Spends `amount` units of a quota of `limit` per fixed window of `windowSeconds`, in one conditional
 * UpdateItem on the rate-limit table (key `<quotaKey>#<window number>`, expiring with its window). It
 * complements the GCRA buckets, which take one token per call, where one request may use many units
 * (inviting 200 users at once). Nothing is spent when the quota would be exceeded.
 */
export async function spendQuota(
  quotaKey: string,
  amount: number,
  limit: number,
  windowSeconds: number,
  deps: Deps = {},
): Promise<SpendResult> {
  const client = deps.client ?? defaultClient;
  const table = (deps.tables ?? config().tables).rateLimits;
  const now = (deps.now ?? Date.now)();
  const window = Math.floor(now / 1000 / windowSeconds);
  const windowEnd = (window + 1) * windowSeconds;
  if (amount <= 0) return { ok: true };
  const retryAfterMs = Math.max(1, windowEnd * 1000 - now);
  if (amount > limit) return { ok: false, retryAfterMs };
  try {
    await client.send(
      new UpdateCommand({
        TableName: table,
        Key: { bucketKey: `${quotaKey}#${window}` },
        UpdateExpression: 'ADD used :n SET expiresAt = :exp',
        ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
        ExpressionAttributeValues: { ':n': amount, ':room': limit - amount, ':exp': windowEnd + 60 },
      }),
    );
    return { ok: true };
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return { ok: false, retryAfterMs };
    throw err;
  }
}
