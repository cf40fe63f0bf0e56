// The event pollers' thread (local/event-pollers): the stream and queue mappings of a template run there,
// against the DynamoDB engine and ElasticMQ of the test run, and invoke through this thread; function
// errors, stats, idle and stop cross the boundary.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { startEventPollers } from '#local/event-pollers/index.js';
import { ensureQueues, readQueueMappings } from '#local/sqs/index.js';
import { createStreamTable } from '../support/stream-tables.js';
import { unique } from '../support/tables.js';

const endpointOf = (name: string) => {
  const url = process.env[name];
  if (!url) throw new Error(`${name} is not set (global setup)`);
  return url;
};
const config = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const ddb = new DynamoDBClient({ ...config, endpoint: endpointOf('AWS_ENDPOINT_URL_DYNAMODB') });
const sqs = new SQSClient({ ...config, endpoint: endpointOf('AWS_ENDPOINT_URL_SQS') });
afterAll(() => {
  ddb.destroy();
  sqs.destroy();
});

const mapping = (functionId: string, source: unknown, props: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: { EventSourceArn: source, FunctionName: { Ref: functionId }, ...props },
});

/**
 * Stream mappings Tbl -> Fn and Tbl -> Other (a function the runtime cannot load, so not run) and a
 * queue mapping `queueId` -> Fn.
 */
const template = (queueId: string): CfnTemplate => ({
  Resources: {
    Tbl: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    [queueId]: { Type: 'AWS::SQS::Queue', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Other: { Type: 'AWS::Lambda::Function', Properties: {} },
    StreamFn: mapping('Fn', { 'Fn::GetAtt': ['Tbl', 'StreamArn'] }, { StartingPosition: 'TRIM_HORIZON' }),
    StreamOther: mapping(
      'Other',
      { 'Fn::GetAtt': ['Tbl', 'StreamArn'] },
      { StartingPosition: 'TRIM_HORIZON' },
    ),
    QueueFn: mapping('Fn', { 'Fn::GetAtt': [queueId, 'Arn'] }, { BatchSize: 10 }),
  },
});

type Event = {
  Records: Array<{ eventSource: string; body?: string; dynamodb?: { Keys: { pk: { S: string } } } }>;
};

describe('event pollers in a thread of their own', () => {
  it('deliver stream records and queue messages through this thread, retry a function error thrown here, and report stats, idle and stop', async () => {
    const { name: table } = await createStreamTable(ddb, 'pollers_');
    const queueId = `Q${unique('')}`;
    const tpl = template(queueId);
    const queues = await ensureQueues(sqs, tpl);
    const queue = queues.get(queueId);
    if (!queue) throw new Error('queue not created');
    const checkpointDir = await mkdtemp(join(tmpdir(), 'pollers-'));
    const streamKeys: string[] = [];
    const bodies: string[] = [];
    const invoked = new Set<string>();
    let failed = false;
    const pollers = await startEventPollers(
      {
        template: tpl,
        dynamoEndpoint: endpointOf('AWS_ENDPOINT_URL_DYNAMODB'),
        sqsEndpoint: endpointOf('AWS_ENDPOINT_URL_SQS'),
        tableNames: { Tbl: table },
        queueUrls: { [queueId]: queue.url },
        queues: Object.fromEntries(queues),
        queueMappings: readQueueMappings(tpl),
        functionIds: ['Fn'],
        checkpointDir,
      },
      async (functionId, event) => {
        invoked.add(functionId);
        const records = (event as Event).Records;
        if (records[0]?.eventSource === 'aws:sqs') {
          bodies.push(...records.map((r) => r.body ?? ''));
          return undefined;
        }
        const keys = records.map((r) => r.dynamodb?.Keys.pk.S ?? '?');
        if (!failed && keys.includes('k2')) {
          failed = true;
          throw Object.assign(new Error('first attempt fails'), { name: 'Custom.Failure' });
        }
        streamKeys.push(...keys);
        return undefined;
      },
    );
    try {
      expect(pollers.streams.mappings).toEqual([{ id: 'StreamFn', functionId: 'Fn' }]);
      for (let i = 0; i < 5; i++) {
        await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `k${i}` } } }));
      }
      await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'hello' }));
      await pollers.streams.idle({ timeoutMs: 60_000 });
      // The failed batch came again whole: every record once after it, in order.
      expect(streamKeys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
      expect(await pollers.streams.stats()).toMatchObject({
        recordsRead: 5,
        recordsSucceeded: 5,
        functionErrors: 1,
      });
      await expect(pollers.streams.idle({ mappingId: 'Nope' })).rejects.toThrow(/No running stream mapping/);
      // The queue's message was delivered, then deleted.
      await vi.waitFor(() => expect(bodies).toEqual(['hello']), { timeout: 30_000 });
      await vi.waitFor(
        async () => {
          const attrs = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: queue.url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          );
          expect(attrs.Attributes).toMatchObject({
            ApproximateNumberOfMessages: '0',
            ApproximateNumberOfMessagesNotVisible: '0',
          });
        },
        { timeout: 10_000 },
      );
      expect([...invoked]).toEqual(['Fn']);
    } finally {
      await pollers.stop();
      await pollers.stop();
    }
    // Stop wrote the checkpoints before the thread ended, and the thread is gone.
    expect((await readdir(checkpointDir)).length).toBeGreaterThan(0);
    await expect(pollers.streams.stats()).rejects.toThrow(/stopped/);
    await rm(checkpointDir, { recursive: true, force: true });
  }, 120_000);
});
