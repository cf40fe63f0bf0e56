import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  Code,
  FilterCriteria,
  FilterRule,
  Function as LambdaFunction,
  Runtime,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { CheckpointStore, onFailureRecord, readStreamMappings, toEventRecord } from '#local/streams/index.js';

/** A stack declaring stream mappings the way the chat stack will (DynamoEventSource). */
function synth(): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'StreamTest');
  const table = new Table(stack, 'Messages', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    stream: StreamViewType.NEW_AND_OLD_IMAGES,
  });
  const fn = (id: string) =>
    new LambdaFunction(stack, id, {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('x'),
    });
  const dlq = new Queue(stack, 'Dlq');
  fn('Indexer').addEventSource(
    new DynamoEventSource(table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      parallelizationFactor: 2,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(dlq),
      filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') })],
    }),
  );
  fn('Plain').addEventSource(new DynamoEventSource(table, { startingPosition: StartingPosition.LATEST }));
  fn('FromQueue').addEventSource(new SqsEventSource(dlq));
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('stream mappings of a template', () => {
  // Synthesizing takes seconds on a loaded two-core machine.
  it('reads what CDK synthesizes for DynamoEventSource, with Lambda defaults, and skips other sources', {
    timeout: 120_000,
  }, () => {
    const template = synth();
    const mappings = readStreamMappings(template);
    expect(mappings).toHaveLength(2);
    const indexer = mappings.find((m) => m.functionId.startsWith('Indexer'));
    const tableId = Object.keys(template.Resources).find((id) => id.startsWith('Messages')) as string;
    const dlqId = Object.keys(template.Resources).find((id) => id.startsWith('Dlq')) as string;
    expect(indexer).toMatchObject({
      tableId,
      enabled: true,
      batchSize: 10,
      maximumBatchingWindowMs: 1000,
      startingPosition: 'TRIM_HORIZON',
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 3,
      maximumRecordAgeSeconds: 3600,
      parallelizationFactor: 2,
      filterPatterns: ['{"eventName":["INSERT"]}'],
      onFailure: { logicalId: dlqId, type: 'AWS::SQS::Queue' },
    });
    expect(mappings.find((m) => m.functionId.startsWith('Plain'))).toMatchObject({
      startingPosition: 'LATEST',
      batchSize: 100,
      maximumBatchingWindowMs: 0,
      reportBatchItemFailures: false,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      parallelizationFactor: 1,
      filterPatterns: [],
      onFailure: undefined,
    });
  });

  it('rejects an invalid filter pattern at start, as CreateEventSourceMapping does', {
    timeout: 120_000,
  }, () => {
    const template = synth();
    const esm = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties?.FilterCriteria,
    );
    (esm?.Properties as Record<string, unknown>).FilterCriteria = { Filters: [{ Pattern: 'not json' }] };
    expect(() => readStreamMappings(template)).toThrow(/filter pattern/i);
  });
});

describe('stream records and on-failure records', () => {
  it('converts SDK records to the event Lambda delivers (epoch seconds, base64 binaries)', () => {
    const record = toEventRecord(
      {
        eventID: 'id-1',
        eventName: 'REMOVE',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'ddblocal',
        dynamodb: {
          ApproximateCreationDateTime: new Date('2026-01-02T03:04:00.000Z'),
          Keys: { pk: { S: 'a' } },
          OldImage: {
            pk: { S: 'a' },
            b: { B: new Uint8Array([1, 2, 3]) },
            bs: { BS: [new Uint8Array([4])] },
            m: {
              M: { l: { L: [{ N: '1' }, { B: new Uint8Array([255]) }, { NULL: true }, { BOOL: false }] } },
            },
          },
          SequenceNumber: '000000000000000000042',
          SizeBytes: 30,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
        userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' },
      },
      { region: 'us-east-1', eventSourceArn: 'arn:stream' },
    );
    expect(JSON.parse(JSON.stringify(record))).toEqual({
      eventID: 'id-1',
      eventName: 'REMOVE',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-01-02T03:04:00.000Z') / 1000,
        Keys: { pk: { S: 'a' } },
        OldImage: {
          pk: { S: 'a' },
          b: { B: 'AQID' },
          bs: { BS: ['BA=='] },
          m: { M: { l: { L: [{ N: '1' }, { B: '/w==' }, { NULL: true }, { BOOL: false }] } } },
        },
        SequenceNumber: '000000000000000000042',
        SizeBytes: 30,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: 'arn:stream',
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    });
  });

  it('builds the on-failure record Lambda sends', () => {
    const rec = (seq: string, t: number) =>
      toEventRecord(
        { eventName: 'INSERT', dynamodb: { SequenceNumber: seq, ApproximateCreationDateTime: new Date(t) } },
        { region: 'us-east-1', eventSourceArn: 'arn:s' },
      );
    const body = onFailureRecord({
      requestId: 'req',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:F',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 3,
      functionError: 'Unhandled',
      shardId: 'shardId-1',
      streamArn: 'arn:s',
      records: [
        rec('7', Date.parse('2026-01-02T03:04:05.678Z')),
        rec('9', Date.parse('2026-01-02T03:04:06.000Z')),
      ],
      now: new Date('2026-01-02T03:05:00.123Z'),
    });
    expect(body).toEqual({
      requestContext: {
        requestId: 'req',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:F',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-02T03:05:00.123Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: '7',
        endSequenceNumber: '9',
        approximateArrivalOfFirstRecord: '2026-01-02T03:04:05Z',
        approximateArrivalOfLastRecord: '2026-01-02T03:04:06Z',
        batchSize: 2,
        streamArn: 'arn:s',
      },
    });
  });
});

describe('checkpoint store', () => {
  it('persists the latest state atomically and reads it back; in memory without a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stream-cp-'));
    try {
      const store = new CheckpointStore(dir, 5);
      expect(await store.load('Esm')).toBeUndefined();
      const state = {
        version: 1 as const,
        mappingId: 'Esm',
        streamArn: 'arn:s',
        shards: { a: { after: '1' } },
      };
      store.save(state);
      state.shards.a = { after: '2' };
      store.save(state);
      await store.flush();
      expect(await store.load('Esm')).toMatchObject({ streamArn: 'arn:s', shards: { a: { after: '2' } } });
      expect(JSON.parse(await readFile(join(dir, 'Esm.json'), 'utf8')).shards.a.after).toBe('2');
      const memory = new CheckpointStore(undefined);
      memory.save(state);
      await memory.flush();
      expect(await memory.load('Esm')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
