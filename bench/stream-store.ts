// npm run bench:stream-store — does the DynamoDB engine's stream store stay fast as it fills?
// Fills one streamed table's stream to BENCH_STREAM_RECORDS records (default 100,000) and, at each
// step, prints the median latency of a PutItem to that table and of GetRecords calls: one at the
// tail of the stream (what a caught-up poller does every poll) and one reading 100 records mid-stream.
// Flat figures mean the store is indexed; growing ones mean it scans every stored record.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { DYNAMODB_ENGINE_VERSION, startDynamoDbEngine } from '#local/engines/index.js';
import { printHeader, printLoad } from './lib/runtime.js';
import { median } from './lib/stats.js';

const TOTAL = Number(process.env.BENCH_STREAM_RECORDS ?? 100_000);
const STEPS = 4;
const SAMPLES = 200;
const TABLE = 'stream-store';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function time(op: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await op();
  return performance.now() - t;
}

async function run(label: string, dbPath: string | undefined): Promise<void> {
  const engine = await startDynamoDbEngine({ dbPath });
  const config = { endpoint: engine.endpoint, region: 'us-east-1', credentials };
  const db = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  try {
    await db.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const table = await waitUntilTableExists({ client: db, maxWaitTime: 30 }, { TableName: TABLE });
    const streamArn = (table.reason as { Table?: { LatestStreamArn?: string } }).Table?.LatestStreamArn;
    if (!streamArn) throw new Error('no stream ARN');
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = described.StreamDescription?.Shards?.[0]?.ShardId as string;
    const body = 'x'.repeat(200);
    let written = 0;
    let firstSequence: string | undefined;

    console.log(`\n${label}`);
    console.log('stream records   PutItem p50   GetRecords tail p50   GetRecords 100 mid-stream p50');
    for (let step = 0; step <= STEPS; step++) {
      const target = Math.round((TOTAL * step) / STEPS);
      // Fill with 25-item batches from 4 writers; each item is one stream record.
      while (written < target) {
        const batches = Array.from({ length: 4 }, () => {
          const n = Math.min(25, target - written);
          const items = Array.from({ length: n }, () => ({
            PutRequest: { Item: { pk: { S: `fill-${written++}` }, body: { S: body } } },
          }));
          return items;
        }).filter((items) => items.length > 0);
        await Promise.all(
          batches.map((items) => db.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: items } }))),
        );
      }
      const puts: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        puts.push(
          await time(() =>
            db.send(
              new PutItemCommand({
                TableName: TABLE,
                Item: { pk: { S: `probe-${step}-${i}` }, body: { S: body } },
              }),
            ),
          ),
        );
      }
      written += SAMPLES;
      const latest = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'LATEST' }),
      );
      const tail: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        tail.push(
          await time(() => streams.send(new GetRecordsCommand({ ShardIterator: latest.ShardIterator }))),
        );
      }
      firstSequence ??= (
        await streams.send(
          new GetRecordsCommand({
            ShardIterator: (
              await streams.send(
                new GetShardIteratorCommand({
                  StreamArn: streamArn,
                  ShardId: shardId,
                  ShardIteratorType: 'TRIM_HORIZON',
                }),
              )
            ).ShardIterator,
            Limit: 1,
          }),
        )
      ).Records?.[0]?.dynamodb?.SequenceNumber;
      const middle: number[] = [];
      if (firstSequence) {
        // Half-way through what is stored: sequence numbers are consecutive within this one table.
        const at = (BigInt(firstSequence) + BigInt(Math.floor(written / 2))).toString();
        const iterator = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
            SequenceNumber: at,
          }),
        );
        for (let i = 0; i < SAMPLES / 4; i++) {
          middle.push(
            await time(() =>
              streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 100 })),
            ),
          );
        }
      }
      console.log(
        `${String(written).padStart(14)}   ${median(puts).toFixed(2).padStart(8)} ms   ${median(tail)
          .toFixed(2)
          .padStart(15)} ms   ${median(middle).toFixed(2).padStart(20)} ms`,
      );
    }
  } finally {
    db.destroy();
    streams.destroy();
    await engine.stop();
  }
}

printHeader(
  `stream store of the DynamoDB engine (${DYNAMODB_ENGINE_VERSION}): latency as the stream fills to ${TOTAL} records`,
);
console.log(`medians of ${SAMPLES} sequential calls (${SAMPLES / 4} for the mid-stream read)`);
await run('in memory', undefined);
const dir = await mkdtemp(join(tmpdir(), 'bench-stream-store-'));
try {
  await run('on disk (SQLite file)', dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
printLoad('end');
