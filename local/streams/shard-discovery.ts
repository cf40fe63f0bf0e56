// Shard discovery: listing a stream's shards (DescribeStream, paged), ordering them parents first (shard
// lineage), and making StartingPosition LATEST concrete as a sequence number that a checkpoint can hold.
import type { DynamoDBStreamsClient, Shard } from '@aws-sdk/client-dynamodb-streams';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { ShardCheckpoint } from './checkpoint.js';
import { GET_RECORDS_MAX } from './context.js';

/** Every shard the stream lists now (all DescribeStream pages). */
export async function listShards(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  signal: AbortSignal,
): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const page = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      { abortSignal: signal },
    );
    shards.push(...(page.StreamDescription?.Shards ?? []));
    start = page.StreamDescription?.LastEvaluatedShardId;
  } while (start);
  return shards;
}

/** LATEST made concrete: the last sequence number in the shard now, so that it can be persisted. */
export async function latestPosition(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  shardId: string,
  signal: AbortSignal,
): Promise<ShardCheckpoint> {
  const first = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    }),
    { abortSignal: signal },
  );
  let iterator = first.ShardIterator;
  let last: string | undefined;
  while (iterator) {
    const page = await streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_MAX }),
      {
        abortSignal: signal,
      },
    );
    const records = page.Records ?? [];
    if (records.length === 0) break;
    last = records[records.length - 1]?.dynamodb?.SequenceNumber ?? last;
    iterator = page.NextShardIterator;
  }
  return last ? { after: last } : {};
}

/** Parents before children, so that a shard's parent is known when the shard is. */
export function sortParentsFirst(shards: readonly Shard[]): Shard[] {
  const byId = new Map(shards.map((s) => [s.ShardId as string, s]));
  const out: Shard[] = [];
  const seen = new Set<string>();
  const visit = (shard: Shard) => {
    const id = shard.ShardId as string;
    if (seen.has(id)) return;
    seen.add(id);
    const parent = shard.ParentShardId ? byId.get(shard.ParentShardId) : undefined;
    if (parent) visit(parent);
    out.push(shard);
  };
  for (const shard of shards) visit(shard);
  return out;
}
