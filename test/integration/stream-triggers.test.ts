// The local stream trigger against the DynamoDB engine of the test run (tables of its own, with streams) and an
// ElasticMQ for on-failure destinations.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { type RunningEngine, startElasticMq } from '#local/engines/index.js';
import {
  type StreamEvent,
  type StreamEventRecord,
  type StreamTriggers,
  startStreamTriggers,
} from '#local/streams/index.js';
import { createStreamTable } from '../support/stream-tables.js';
import { unique } from '../support/tables.js';

const TEST_TIMEOUT = 120_000;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const endpoint = () => {
  const url = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!url) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set (global setup)');
  return url;
};
const ddb = new DynamoDBClient({ endpoint: endpoint(), region: 'us-east-1', credentials });

let elasticMq: RunningEngine;
let sqs: SQSClient;
const running: StreamTriggers[] = [];
const dirs: string[] = [];
/** Log lines of every trigger of the current test. */
let testLogs: string[] = [];

beforeAll(async () => {
  elasticMq = await startElasticMq();
  sqs = new SQSClient({ endpoint: elasticMq.endpoint, region: 'us-east-1', credentials });
}, 300_000);

afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  // No loop crashed, no checkpoint failed to be written.
  const errors = testLogs.filter((line) => line.startsWith('error'));
  testLogs = [];
  expect(errors).toEqual([]);
});

afterAll(async () => {
  sqs?.destroy();
  await elasticMq?.stop();
  ddb.destroy();
});

/** A table with a NEW_AND_OLD_IMAGES stream; returns its name and stream ARN. */
const createTable = () => createStreamTable(ddb, 'streamtest_');

const put = (table: string, pk: string, extra: Record<string, AttributeValue> = {}) =>
  ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ...extra } }));

/** The template of one mapping Tbl → Fn, with an on-failure queue Dlq. */
function template(props: Record<string, unknown>): CfnTemplate {
  return {
    Resources: {
      Tbl: { Type: 'AWS::DynamoDB::Table', Properties: {} },
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Dlq: { Type: 'AWS::SQS::Queue' },
      Esm: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Tbl', 'StreamArn'] },
          FunctionName: { Ref: 'Fn' },
          StartingPosition: 'TRIM_HORIZON',
          ...props,
        },
      },
    },
  };
}

const keyOf = (r: StreamEventRecord) => {
  const pk = r.dynamodb.Keys?.pk;
  return pk && 'S' in pk ? pk.S : '?';
};

interface Started {
  triggers: StreamTriggers;
  /** Every invocation's records, in invocation order. */
  batches: StreamEventRecord[][];
  logs: string[];
}

async function start(
  table: string,
  props: Record<string, unknown>,
  options: {
    handler?: (event: StreamEvent) => unknown;
    checkpointDir?: string;
    queueUrl?: string;
  } = {},
): Promise<Started> {
  const batches: StreamEventRecord[][] = [];
  const logs: string[] = [];
  const triggers = await startStreamTriggers({
    template: template(props),
    invoke: async (functionId, event) => {
      expect(functionId).toBe('Fn');
      batches.push(event.Records);
      return options.handler?.(event);
    },
    dynamoEndpoint: endpoint(),
    tableNames: { Tbl: table },
    queueUrls: options.queueUrl ? { Dlq: options.queueUrl } : {},
    checkpointDir: options.checkpointDir,
    region: 'us-east-1',
    retryBackoff: { initialMs: 10, maxMs: 200 },
    log: (level, message) => {
      logs.push(`${level}: ${message}`);
      testLogs.push(`${level}: ${message}`);
    },
  });
  running.push(triggers);
  return { triggers, batches, logs };
}

async function createQueue(): Promise<string> {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: unique('stream-dlq-') }));
  return out.QueueUrl as string;
}

/** Waits until `count` messages arrived on the queue; returns their parsed bodies. */
async function receive(queueUrl: string, count: number, timeoutMs = 60_000): Promise<any[]> {
  const bodies: any[] = [];
  const deadline = Date.now() + timeoutMs;
  while (bodies.length < count) {
    if (Date.now() > deadline) throw new Error(`${bodies.length}/${count} messages after ${timeoutMs} ms`);
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    bodies.push(...(out.Messages ?? []).map((m) => JSON.parse(m.Body as string)));
  }
  return bodies;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};

describe('stream trigger against the local DynamoDB engine', () => {
  it(
    'delivers every record once, in order, in batches, shaped as Lambda delivers them',
    async () => {
      const { name, streamArn } = await createTable();
      const { triggers, batches } = await start(name, { BatchSize: 10 });
      const expected: string[] = [];
      for (let i = 0; i < 45; i++) {
        await put(name, `k${i}`, { n: { N: String(i) }, bin: { B: new Uint8Array([i, 255]) } });
        expected.push(`k${i}`);
      }
      await ddb.send(
        new UpdateItemCommand({
          TableName: name,
          Key: { pk: { S: 'k3' } },
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': { N: '1000' } },
        }),
      );
      await ddb.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'k4' } } }));
      expected.push('k3', 'k4');
      await triggers.idle();

      const records = batches.flat();
      expect(records.map(keyOf)).toEqual(expected);
      const seqs = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as bigint))).toBe(true);
      expect(batches.every((b) => b.length >= 1 && b.length <= 10)).toBe(true);
      expect(triggers.stats()).toMatchObject({
        recordsRead: 47,
        recordsSucceeded: 47,
        invocations: batches.length,
      });

      const [insert, modify, remove] = [records[0], records[45], records[46]] as [
        StreamEventRecord,
        StreamEventRecord,
        StreamEventRecord,
      ];
      expect(insert).toEqual({
        eventID: expect.any(String),
        eventName: 'INSERT',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        dynamodb: {
          ApproximateCreationDateTime: expect.any(Number),
          Keys: { pk: { S: 'k0' } },
          NewImage: { pk: { S: 'k0' }, n: { N: '0' }, bin: { B: Buffer.from([0, 255]).toString('base64') } },
          SequenceNumber: expect.stringMatching(/^\d+$/),
          SizeBytes: expect.any(Number),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
        eventSourceARN: streamArn,
      });
      expect(
        Math.abs((insert.dynamodb.ApproximateCreationDateTime as number) - Date.now() / 1000),
      ).toBeLessThan(600);
      expect(modify).toMatchObject({
        eventName: 'MODIFY',
        dynamodb: { OldImage: { n: { N: '3' } }, NewImage: { n: { N: '1000' } } },
      });
      expect(remove).toMatchObject({ eventName: 'REMOVE', dynamodb: { OldImage: { pk: { S: 'k4' } } } });
      expect(remove.dynamodb.NewImage).toBeUndefined();
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps the lag from commit to invocation well under a second',
    async () => {
      const { name } = await createTable();
      const invokedAt = new Map<string, number>();
      await start(
        name,
        { BatchSize: 100 },
        {
          handler: (event) => {
            for (const r of event.Records) invokedAt.set(keyOf(r), performance.now());
          },
        },
      );
      const lags: number[] = [];
      for (let i = 0; i < 40; i++) {
        // Writes land at random points of the poll cycle.
        await sleep(Math.random() * 60);
        const key = `lag${i}`;
        await put(name, key);
        const committedAt = performance.now();
        await expect.poll(() => invokedAt.has(key), { timeout: 10_000, interval: 2 }).toBe(true);
        lags.push((invokedAt.get(key) as number) - committedAt);
      }
      const [p50, p90, max] = [percentile(lags, 50), percentile(lags, 90), Math.max(...lags)];
      console.info(
        `stream lag commit→invoke: p50 ${p50.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
      );
      expect(p50).toBeLessThan(500);
    },
    TEST_TIMEOUT,
  );

  it(
    'ReportBatchItemFailures: retries from the lowest failed record; records before it are not redelivered',
    async () => {
      const { name } = await createTable();
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      for (const k of keys) await put(name, k);
      let failed = false;
      // The records are in the stream before the mapping starts, so batches are deterministic.
      const { triggers, batches } = await start(
        name,
        { BatchSize: 5, FunctionResponseTypes: ['ReportBatchItemFailures'], MaximumRetryAttempts: 2 },
        {
          handler: (event) => {
            if (failed) return { batchItemFailures: [] };
            failed = true;
            const seq = (k: string) => event.Records.find((r) => keyOf(r) === k)?.dynamodb.SequenceNumber;
            return { batchItemFailures: [{ itemIdentifier: seq('d') }, { itemIdentifier: seq('c') }] };
          },
        },
      );
      await triggers.idle();
      expect(batches.map((b) => b.map(keyOf))).toEqual([
        ['a', 'b', 'c', 'd', 'e'],
        ['c', 'd', 'e'],
        ['f', 'g', 'h'],
      ]);
      expect(triggers.stats()).toMatchObject({
        partialFailures: 1,
        retries: 1,
        recordsSucceeded: 8,
        sentToDlq: 0,
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'ReportBatchItemFailures: an invalid identifier fails the whole batch',
    async () => {
      const { name } = await createTable();
      for (const k of ['a', 'b', 'c']) await put(name, k);
      let calls = 0;
      const { triggers, batches } = await start(
        name,
        { BatchSize: 5, FunctionResponseTypes: ['ReportBatchItemFailures'] },
        {
          handler: () =>
            calls++ === 0 ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] } : null,
        },
      );
      await triggers.idle();
      expect(batches.map((b) => b.map(keyOf))).toEqual([
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
      ]);
      expect(triggers.stats()).toMatchObject({ invalidResponses: 1, retries: 1 });
    },
    TEST_TIMEOUT,
  );

  it(
    'bisects on function errors: the poison record ends in the on-failure queue, every other record is processed',
    async () => {
      const { name, streamArn } = await createTable();
      const queueUrl = await createQueue();
      const keys = Array.from({ length: 10 }, (_, i) => `r${i}`);
      for (const k of keys) await put(name, k, { poison: { BOOL: k === 'r6' } });
      const processed: string[] = [];
      const { triggers } = await start(
        name,
        {
          BatchSize: 10,
          BisectBatchOnFunctionError: true,
          MaximumRetryAttempts: 1,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
        },
        {
          queueUrl,
          handler: (event) => {
            if (event.Records.some((r) => (r.dynamodb.NewImage?.poison as { BOOL?: boolean })?.BOOL)) {
              throw new Error('poison record');
            }
            processed.push(...event.Records.map(keyOf));
          },
        },
      );
      await triggers.idle();
      expect(processed).toEqual(keys.filter((k) => k !== 'r6'));
      const [message, ...more] = await receive(queueUrl, 1);
      expect(more).toEqual([]);
      expect(message).toEqual({
        requestContext: {
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Fn',
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: expect.any(Number),
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        DDBStreamBatchInfo: {
          shardId: expect.stringMatching(/^shardId-/),
          startSequenceNumber: expect.any(String),
          endSequenceNumber: expect.any(String),
          approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          batchSize: 1,
          streamArn,
        },
      });
      const info = message.DDBStreamBatchInfo;
      expect(info.endSequenceNumber).toBe(info.startSequenceNumber);
      // Invoked in the batches 0-10, 5-10, 5-8, 5-7, then alone twice (one retry).
      expect(message.requestContext.approximateInvokeCount).toBe(6);
      // The batch info is enough to fetch the record back from the stream, as with AWS.
      const streams = new DynamoDBStreamsClient({ endpoint: endpoint(), region: 'us-east-1', credentials });
      const iterator = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: info.streamArn,
          ShardId: info.shardId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: info.startSequenceNumber,
        }),
      );
      const fetched = await streams.send(
        new GetRecordsCommand({ ShardIterator: iterator.ShardIterator, Limit: 1 }),
      );
      expect(fetched.Records?.[0]?.dynamodb?.Keys).toEqual({ pk: { S: 'r6' } });
      streams.destroy();
      expect(triggers.stats()).toMatchObject({
        sentToDlq: 1,
        dlqMessages: 1,
        recordsSucceeded: 9,
        discarded: 0,
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'sends records older than MaximumRecordAgeInSeconds to the on-failure queue as RecordAgeExceeded',
    async () => {
      const { name } = await createTable();
      const queueUrl = await createQueue();
      const { triggers } = await start(
        name,
        {
          MaximumRetryAttempts: -1,
          MaximumRecordAgeInSeconds: 1,
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['Dlq', 'Arn'] } } },
        },
        {
          queueUrl,
          handler: () => {
            throw new Error('always failing');
          },
        },
      );
      await put(name, 'old');
      const [message] = await receive(queueUrl, 1);
      expect(message.requestContext.condition).toBe('RecordAgeExceeded');
      expect(message.requestContext.approximateInvokeCount).toBeGreaterThan(1);
      expect(message.DDBStreamBatchInfo.batchSize).toBe(1);
      await triggers.idle();
      expect(triggers.stats()).toMatchObject({ sentToDlq: 1, recordsSucceeded: 0 });
    },
    TEST_TIMEOUT,
  );

  it(
    'applies FilterCriteria: records that match no filter are dropped without an invocation',
    async () => {
      const { name } = await createTable();
      const filters = [
        { eventName: ['INSERT'], dynamodb: { NewImage: { kind: { S: [{ prefix: 'keep' }] } } } },
        { eventName: ['REMOVE'], dynamodb: { OldImage: { flag: { BOOL: [true] } } } },
        // Never matches: N values are strings, as on AWS.
        { dynamodb: { NewImage: { n: { N: [{ numeric: ['>', 5] }] } } } },
      ];
      const { triggers, batches } = await start(name, {
        FilterCriteria: { Filters: filters.map((f) => ({ Pattern: JSON.stringify(f) })) },
      });
      await put(name, 'keep-1', { kind: { S: 'keep-this' } });
      await put(name, 'drop-1', { kind: { S: 'drop-this' } });
      await put(name, 'keep-1', { kind: { S: 'keep-this' }, v: { N: '2' } }); // MODIFY
      await put(name, 'flagged', { flag: { BOOL: true } });
      await put(name, 'number', { n: { N: '10' } });
      await ddb.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'flagged' } } }));
      await ddb.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'drop-1' } } }));
      await put(name, 'keep-2', { kind: { S: 'keep-that' } });
      await triggers.idle();
      expect(batches.flat().map((r) => `${r.eventName} ${keyOf(r)}`)).toEqual([
        'INSERT keep-1',
        'REMOVE flagged',
        'INSERT keep-2',
      ]);
      expect(triggers.stats()).toMatchObject({ recordsRead: 8, recordsFiltered: 5, recordsSucceeded: 3 });
    },
    TEST_TIMEOUT,
  );

  it(
    'resumes from a persisted checkpoint instead of replaying the stream',
    async () => {
      const { name } = await createTable();
      const dir = await mkdtemp(join(tmpdir(), 'stream-checkpoints-'));
      dirs.push(dir);
      for (const k of ['a1', 'a2', 'a3']) await put(name, k);
      const first = await start(name, { BatchSize: 2 }, { checkpointDir: dir });
      await first.triggers.idle();
      await first.triggers.stop();
      expect(first.batches.flat().map(keyOf)).toEqual(['a1', 'a2', 'a3']);

      // Written while nothing polls (the runtime is down).
      for (const k of ['b1', 'b2']) await put(name, k);
      const second = await start(name, { BatchSize: 2 }, { checkpointDir: dir });
      await second.triggers.idle();
      await second.triggers.stop();
      expect(second.batches.flat().map(keyOf)).toEqual(['b1', 'b2']);

      // Without a checkpoint directory, TRIM_HORIZON replays the whole stream.
      const replay = await start(name, { BatchSize: 100 });
      await replay.triggers.idle();
      expect(replay.batches.flat().map(keyOf)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    },
    TEST_TIMEOUT,
  );

  it(
    'LATEST skips what the stream holds at the first start, and that position survives a restart',
    async () => {
      const { name } = await createTable();
      const dir = await mkdtemp(join(tmpdir(), 'stream-checkpoints-'));
      dirs.push(dir);
      await put(name, 'before');
      const first = await start(name, { StartingPosition: 'LATEST' }, { checkpointDir: dir });
      await put(name, 'during');
      await first.triggers.idle();
      await first.triggers.stop();
      expect(first.batches.flat().map(keyOf)).toEqual(['during']);

      await put(name, 'while-down');
      const second = await start(name, { StartingPosition: 'LATEST' }, { checkpointDir: dir });
      await second.triggers.idle();
      expect(second.batches.flat().map(keyOf)).toEqual(['while-down']);
    },
    TEST_TIMEOUT,
  );

  it(
    'ParallelizationFactor: concurrent batches, order kept per partition key',
    async () => {
      const { name } = await createTable();
      // Items of one partition key are updated in sequence; the pk is the partition key.
      const keys = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
      for (let v = 0; v < 8; v++) for (const k of keys) await put(name, k, { v: { N: String(v) } });
      let active = 0;
      let maxActive = 0;
      const seen = new Map<string, number[]>();
      const { triggers } = await start(
        name,
        { BatchSize: 4, ParallelizationFactor: 3 },
        {
          handler: async (event) => {
            active++;
            maxActive = Math.max(maxActive, active);
            await sleep(20);
            for (const r of event.Records) {
              const v = Number((r.dynamodb.NewImage?.v as { N: string } | undefined)?.N);
              seen.set(keyOf(r), [...(seen.get(keyOf(r)) ?? []), v]);
            }
            active--;
          },
        },
      );
      await triggers.idle();
      for (const k of keys) expect(seen.get(k), k).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(maxActive).toBeGreaterThan(1);
    },
    TEST_TIMEOUT,
  );
});
