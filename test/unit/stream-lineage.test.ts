// Shard lineage, new shards, expired iterators and trimmed data, against an in-memory streams API (DynamoDB
// Local only rolls shards over every four hours and never expires iterators of a reader that keeps polling).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  type DescribeTableCommandOutput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-dynamodb-streams';
import { afterEach, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { type StreamEvent, type StreamTriggers, startStreamTriggers } from '#local/streams/index.js';

const ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026-01-01T00:00:00.000';

interface FakeShard {
  id: string;
  parent?: string;
  records: _Record[];
  closed: boolean;
  /** Records before this index are trimmed. */
  trimmed: number;
}

/** Just enough of DynamoDB Streams: shards with lineage, iterators by position, injectable errors. */
class FakeStreams {
  readonly shards: FakeShard[] = [];
  readonly errors: Array<{ command: string; name: string }> = [];
  private seq = 0;

  addShard(id: string, parent?: string): FakeShard {
    const shard = { id, parent, records: [], closed: false, trimmed: 0 };
    this.shards.push(shard);
    return shard;
  }

  put(shard: FakeShard, key: string): string {
    const seq = String(++this.seq).padStart(21, '0');
    shard.records.push({
      eventID: `e${seq}`,
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'ddblocal',
      dynamodb: {
        ApproximateCreationDateTime: new Date(),
        Keys: { pk: { S: key } },
        NewImage: { pk: { S: key } },
        SequenceNumber: seq,
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    return seq;
  }

  readonly client = {
    send: async (command: unknown): Promise<unknown> => {
      const name = (command as object).constructor.name;
      const error = this.errors.findIndex((e) => e.command === name);
      if (error >= 0) {
        const errorName = this.errors.splice(error, 1)[0]?.name ?? 'Error';
        throw Object.assign(new Error(errorName), { name: errorName });
      }
      if (command instanceof DescribeStreamCommand) {
        return {
          StreamDescription: {
            StreamArn: ARN,
            StreamStatus: 'ENABLED',
            Shards: this.shards.map((s) => ({
              ShardId: s.id,
              ParentShardId: s.parent,
              SequenceNumberRange: {
                StartingSequenceNumber: s.records[0]?.dynamodb?.SequenceNumber ?? '0',
                EndingSequenceNumber: s.closed ? s.records.at(-1)?.dynamodb?.SequenceNumber : undefined,
              },
            })),
          },
        };
      }
      if (command instanceof GetShardIteratorCommand) {
        const input = command.input as GetShardIteratorCommandInput;
        const shard = this.shard(input.ShardId as string);
        let index = shard.trimmed;
        if (input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER') {
          index = shard.records.findIndex((r) => r.dynamodb?.SequenceNumber === input.SequenceNumber) + 1;
          if (index - 1 < shard.trimmed)
            throw Object.assign(new Error('trimmed'), { name: 'TrimmedDataAccessException' });
        } else if (input.ShardIteratorType === 'LATEST') {
          index = shard.records.length;
        }
        return { ShardIterator: `${shard.id}|${index}` };
      }
      if (command instanceof GetRecordsCommand) {
        const [id, at] = (command.input.ShardIterator as string).split('|') as [string, string];
        const shard = this.shard(id);
        const index = Math.max(Number(at), shard.trimmed);
        const records = shard.records.slice(index, index + (command.input.Limit ?? 1000));
        const next = index + records.length;
        const end = shard.closed && next >= shard.records.length;
        return { Records: records, NextShardIterator: end ? undefined : `${id}|${next}` };
      }
      throw new Error(`unexpected ${name}`);
    },
    destroy: () => undefined,
  };

  readonly dynamodb = {
    send: async (command: unknown): Promise<Partial<DescribeTableCommandOutput>> => {
      if (!(command instanceof DescribeTableCommand)) throw new Error('unexpected command');
      return {
        Table: {
          LatestStreamArn: ARN,
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        },
      };
    },
    destroy: () => undefined,
  };

  private shard(id: string): FakeShard {
    const shard = this.shards.find((s) => s.id === id);
    if (!shard) throw Object.assign(new Error('Shard does not exist'), { name: 'ResourceNotFoundException' });
    return shard;
  }
}

const template = (props: Record<string, unknown> = {}): CfnTemplate => ({
  Resources: {
    T: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Esm: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['T', 'StreamArn'] },
        FunctionName: { Ref: 'Fn' },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 10,
        ...props,
      },
    },
  },
});

let triggers: StreamTriggers | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await triggers?.stop();
  triggers = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(fake: FakeStreams, props?: Record<string, unknown>, checkpointDir?: string) {
  const batches: string[][] = [];
  const logs: string[] = [];
  triggers = await startStreamTriggers({
    template: template(props),
    invoke: async (_fn, event: StreamEvent) => {
      batches.push(
        event.Records.map((r) =>
          r.dynamodb.Keys?.pk && 'S' in r.dynamodb.Keys.pk ? r.dynamodb.Keys.pk.S : '?',
        ),
      );
    },
    dynamoEndpoint: 'http://unused',
    tableNames: { T: 'T' },
    checkpointDir,
    pollIntervalMs: 5,
    discoveryIntervalMs: 20,
    checkpointDelayMs: 1,
    log: (level, message) => logs.push(`${level}: ${message}`),
    clients: {
      streams: fake.client as unknown as DynamoDBStreamsClient,
      dynamodb: fake.dynamodb as unknown as DynamoDBClient,
    },
  });
  return { batches, logs, triggers };
}

describe('shards', () => {
  it('reads a parent before its child, and a child shard that appears later', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    const b = fake.addShard('shardId-b', 'shardId-a');
    for (const k of ['a1', 'a2', 'a3']) fake.put(a, k);
    a.closed = true;
    for (const k of ['b1', 'b2']) fake.put(b, k);
    const { batches, triggers } = await start(fake);
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2'],
    ]);

    // Rollover: b closes after one more record, c (its child) appears with records of its own.
    fake.put(b, 'b3');
    b.closed = true;
    const c = fake.addShard('shardId-c', 'shardId-b');
    fake.put(c, 'c1');
    fake.put(c, 'c2');
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('c2');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1', 'c2']);
    expect(batches.slice(2).every((batch) => batch.every((k) => k[0] === batch[0]?.[0]))).toBe(true);
  });

  it('does not start a child while its parent still has records to process', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    const b = fake.addShard('shardId-b', 'shardId-a');
    fake.put(a, 'a1');
    fake.put(b, 'b1');
    // The parent is still open: nothing of the child may be delivered.
    const { batches, triggers } = await start(fake);
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('a1');
    fake.put(a, 'a2');
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('a2');
    expect(batches.flat()).not.toContain('b1');
    a.closed = true;
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('b1');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['a1', 'a2', 'b1']);
  });

  it('LATEST skips closed shards and what the open shard holds at start', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    const b = fake.addShard('shardId-b', 'shardId-a');
    fake.put(a, 'old-a');
    a.closed = true;
    fake.put(b, 'old-b');
    const { batches, triggers } = await start(fake, { StartingPosition: 'LATEST' });
    fake.put(b, 'new-b');
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('new-b');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['new-b']);
  });
});

describe('iterator errors', () => {
  it('re-acquires an expired iterator where reading stopped: nothing lost, nothing twice', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    fake.put(a, 'r1');
    const { batches, triggers } = await start(fake);
    await triggers.idle({ timeoutMs: 10_000 });
    fake.errors.push({ command: 'GetRecordsCommand', name: 'ExpiredIteratorException' });
    fake.put(a, 'r2');
    fake.put(a, 'r3');
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('r3');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['r1', 'r2', 'r3']);
    expect(triggers.stats().iteratorResets).toBe(1);
  });

  it('goes on from the oldest record left when the position was trimmed', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    fake.put(a, 'r1');
    const { batches, logs, triggers } = await start(fake);
    await triggers.idle({ timeoutMs: 10_000 });
    // r1 and r2 expire from the stream while the reader holds an iterator to them.
    fake.put(a, 'r2');
    fake.put(a, 'r3');
    a.trimmed = 2;
    fake.errors.push({ command: 'GetRecordsCommand', name: 'TrimmedDataAccessException' });
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('r3');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['r1', 'r3']);
    expect(logs.some((l) => l.includes('trimmed'))).toBe(true);
  });

  it('takes the iterator of an empty shard again when the engine calls it trimmed, silently', async () => {
    // Some engines number the records of all streams with one counter: an iterator taken on an empty
    // shard is "trimmed" once the shard's first record arrives with a higher number.
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    const { batches, logs, triggers } = await start(fake);
    await triggers.idle({ timeoutMs: 10_000 });
    fake.errors.push({ command: 'GetRecordsCommand', name: 'TrimmedDataAccessException' });
    fake.put(a, 'first');
    await expect.poll(() => batches.flat(), { timeout: 10_000 }).toContain('first');
    await triggers.idle({ timeoutMs: 10_000 });
    expect(batches.flat()).toEqual(['first']);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('retries GetRecords after other errors and resumes from a persisted checkpoint', async () => {
    const fake = new FakeStreams();
    const a = fake.addShard('shardId-a');
    fake.put(a, 'r1');
    const dir = await mkdtemp(join(tmpdir(), 'stream-lineage-'));
    dirs.push(dir);
    const first = await start(fake, {}, dir);
    fake.errors.push({ command: 'GetRecordsCommand', name: 'InternalServerError' });
    await first.triggers.idle({ timeoutMs: 10_000 });
    await first.triggers.stop();
    expect(first.batches.flat()).toEqual(['r1']);
    fake.put(a, 'r2');
    const second = await start(fake, {}, dir);
    await second.triggers.idle({ timeoutMs: 10_000 });
    expect(second.batches.flat()).toEqual(['r2']);
  });
});
