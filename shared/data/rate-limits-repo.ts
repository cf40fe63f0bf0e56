import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DocClient, ddb as defaultClient } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import type { RateLimit } from '../config/rate-limits.js';

interface Deps {
  client?: DocClient;
  tables?: Config['tables'];
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * The bucket's theoretical arrival time as this container last saw it: only a hint that picks which of
 * the two conditional writes to try first; the condition decides.
 */
const lastSeen = new Map<string, number>();
const LAST_SEEN_MAX = 10_000;

/**
 * Takes one token from a bucket shared by every Lambda container, in one conditional UpdateItem (two
 * when the hint was wrong). It is the generic cell rate algorithm (GCRA, ITU-T I.371), which is a token
 * bucket kept as a single number, the theoretical arrival time `tat`: a request at `now` passes when
 * `max(tat, now) + T - now <= burst * T` (T = 1000 / ratePerSecond ms), and moves `tat` by T. Written
 * here rather than taken from a library because the limit must hold across containers with one atomic
 * DynamoDB write per request, which the rate-limit libraries for DynamoDB do not do as a token bucket.
 * Refusals write nothing, and a refusal this container can already be sure of reads nothing either.
 */
export async function takeToken(bucketKey: string, limit: RateLimit, deps: Deps = {}): Promise<TakeResult> {
  const client = deps.client ?? defaultClient;
  const table = (deps.tables ?? config().tables).rateLimits;
  const now = (deps.now ?? Date.now)();
  const interval = 1000 / limit.ratePerSecond;
  // The latest `tat` that still lets one more request through.
  const maxTat = now + (limit.burst - 1) * interval;
  const expiresAt = (tat: number) => Math.ceil((tat + limit.burst * interval) / 1000) + 60;
  const update = async (busy: boolean): Promise<number | undefined> => {
    try {
      const res = await client.send(
        new UpdateCommand({
          TableName: table,
          Key: { bucketKey },
          // A busy bucket (tat ahead of now) moves on from its tat; an idle or new one from now.
          UpdateExpression: busy
            ? 'SET tat = tat + :t, expiresAt = :exp'
            : 'SET tat = :next, expiresAt = :exp',
          ConditionExpression: busy
            ? 'tat BETWEEN :now AND :maxTat'
            : 'attribute_not_exists(tat) OR tat < :now',
          ExpressionAttributeValues: busy
            ? { ':t': interval, ':now': now, ':maxTat': maxTat, ':exp': expiresAt(maxTat + interval) }
            : { ':next': now + interval, ':now': now, ':exp': expiresAt(now + interval) },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      remember(bucketKey, Number(res.Attributes?.tat ?? now + interval));
      return undefined;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const tat = err.Item?.tat?.N === undefined ? Number.NaN : Number(err.Item.tat.N);
      return tat;
    }
  };
  // `tat` only ever moves forward (other containers only take tokens), so a `tat` this container saw
  // beyond the limit refuses without a write: a flood costs the table one write per refill, not one per
  // request.
  const seen = lastSeen.get(bucketKey);
  if (seen !== undefined && seen > maxTat) return { allowed: false, retryAfterMs: Math.ceil(seen - maxTat) };
  let busy = (seen ?? 0) >= now;
  // Two wrong guesses in a row mean the bucket moved between them; a third try settles it.
  for (let attempt = 0; attempt < 3; attempt++) {
    const tat = await update(busy);
    if (tat === undefined) return { allowed: true };
    if (!Number.isNaN(tat)) remember(bucketKey, tat);
    if (!Number.isNaN(tat) && tat > maxTat) return { allowed: false, retryAfterMs: Math.ceil(tat - maxTat) };
    busy = !Number.isNaN(tat) && tat >= now;
  }
  // Only under a storm of requests on one key: refuse briefly rather than spin.
  return { allowed: false, retryAfterMs: Math.ceil(interval) };
}

/**
 * The refusal this container can already be sure of, without any request: `retryAfterMs` when the bucket
 * was last seen beyond its limit, else undefined (only a take can tell). Lets a caller with several
 * buckets refuse before it spends a token of another one.
 */
export function knownRefusal(bucketKey: string, limit: RateLimit, now = Date.now()): number | undefined {
  const seen = lastSeen.get(bucketKey);
  const maxTat = now + (limit.burst - 1) * (1000 / limit.ratePerSecond);
  return seen !== undefined && seen > maxTat ? Math.ceil(seen - maxTat) : undefined;
}

function remember(bucketKey: string, tat: number): void {
  if (lastSeen.size >= LAST_SEEN_MAX && !lastSeen.has(bucketKey)) {
    lastSeen.delete(lastSeen.keys().next().value as string);
  }
  lastSeen.set(bucketKey, tat);
}
