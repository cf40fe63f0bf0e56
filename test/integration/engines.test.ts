import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateQueueCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  installDynamoDbEngine,
  installElasticMq,
  installOpenSearch,
  type RunningEngine,
  startDynamoDbEngine,
  startElasticMq,
  startOpenSearch,
} from '#local/engines/index.js';

// The first run downloads the engines (a few minutes); later runs only start them.
const FETCH_TIMEOUT = 20 * 60_000;
const ENGINE_TIMEOUT = 4 * 60_000;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const startupTimes: string[] = [];

beforeAll(async () => {
  await installDynamoDbEngine();
  await installElasticMq();
  await installOpenSearch();
}, FETCH_TIMEOUT);

afterAll(() => {
  if (startupTimes.length) console.info(`engine startup: ${startupTimes.join(', ')}`);
});

/** Starts an engine for one test and always stops it, even when an assertion fails. */
async function withEngine<T>(
  start: Promise<RunningEngine>,
  use: (e: RunningEngine) => Promise<T>,
): Promise<T> {
  const engine = await start;
  startupTimes.push(`${engine.name} ${engine.startupMs} ms`);
  try {
    expect(engine.endpoint).toBe(`http://127.0.0.1:${engine.port}`);
    return await use(engine);
  } finally {
    await engine.stop();
  }
}

/** The engine must not be reachable through the machine's other addresses (when it has any). */
async function expectLoopbackOnly(port: number): Promise<void> {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!external) return;
  const outcome = await new Promise<string>((resolve) => {
    const socket = connect({ host: external.address, port, timeout: 2_000 });
    const done = (result: string) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done('connected'));
    socket.once('timeout', () => done('timeout'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
  });
  expect(outcome, `port ${port} answered on ${external.address}`).not.toBe('connected');
}

function dynamo(engine: RunningEngine): DynamoDBClient {
  return new DynamoDBClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
}

async function createTable(
  client: DynamoDBClient,
  name: string,
  streamed = false,
): Promise<string | undefined> {
  const created = await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(streamed && { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
  return created.TableDescription?.LatestStreamArn;
}

/** The table's one stream shard and a reader of the keys its records name, from an iterator type. */
async function streamOf(engine: RunningEngine, streamArn: string) {
  const streams = new DynamoDBStreamsClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
  const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shard = described.StreamDescription?.Shards?.[0];
  const iterator = async (type: ShardIteratorType) =>
    (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard?.ShardId,
          ShardIteratorType: type,
        }),
      )
    ).ShardIterator;
  const keys = async (shardIterator: string | undefined) => {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: shardIterator }));
    return (page.Records ?? []).map((r) => r.dynamodb?.Keys?.pk?.S);
  };
  return { streams, shard, iterator, keys };
}

const put = (client: DynamoDBClient, table: string, pk: string) =>
  client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } }));

describe('DynamoDB engine', () => {
  it(
    'runs in memory: create a table, put and get an item',
    async () => {
      await withEngine(startDynamoDbEngine({}), async (engine) => {
        await expectLoopbackOnly(engine.port);
        const client = dynamo(engine);
        await createTable(client, 'things');
        await client.send(
          new PutItemCommand({ TableName: 'things', Item: { pk: { S: 'a' }, n: { N: '1' } } }),
        );
        const got = await client.send(new GetItemCommand({ TableName: 'things', Key: { pk: { S: 'a' } } }));
        expect(got.Item).toEqual({ pk: { S: 'a' }, n: { N: '1' } });
        client.destroy();
      });
    },
    ENGINE_TIMEOUT,
  );

  it(
    'reports the open stream shard as open, so a LATEST reader sees the writes after it',
    async () => {
      await withEngine(startDynamoDbEngine({}), async (engine) => {
        const client = dynamo(engine);
        const arn = await createTable(client, 'streamed', true);
        await put(client, 'streamed', 'before');
        const stream = await streamOf(engine, arn as string);
        // In DynamoDB an EndingSequenceNumber marks a closed shard: no more records will come.
        expect(stream.shard?.SequenceNumberRange?.StartingSequenceNumber).toBeDefined();
        expect(stream.shard?.SequenceNumberRange?.EndingSequenceNumber).toBeUndefined();
        const latest = await stream.iterator('LATEST');
        await put(client, 'streamed', 'after');
        expect(await stream.keys(latest)).toEqual(['after']);
        expect(await stream.keys(await stream.iterator('TRIM_HORIZON'))).toEqual(['before', 'after']);
        stream.streams.destroy();
        client.destroy();
      });
    },
    ENGINE_TIMEOUT,
  );

  it(
    'drops stream records older than the retention period',
    async () => {
      // 24 h by default, as DynamoDB Streams; 2 s here. Records are trimmed by the writes that follow.
      await withEngine(startDynamoDbEngine({ streamRetentionSeconds: 2 }), async (engine) => {
        const client = dynamo(engine);
        const arn = await createTable(client, 'retained', true);
        await put(client, 'retained', 'old');
        const stream = await streamOf(engine, arn as string);
        expect(await stream.keys(await stream.iterator('TRIM_HORIZON'))).toEqual(['old']);
        await sleep(3_500);
        await put(client, 'retained', 'new');
        expect(await stream.keys(await stream.iterator('TRIM_HORIZON'))).toEqual(['new']);
        stream.streams.destroy();
        client.destroy();
      });
    },
    ENGINE_TIMEOUT,
  );

  it(
    'keeps committed writes in dbPath across a SIGKILL',
    async () => {
      const dbPath = await mkdtemp(join(tmpdir(), 'engines-test-dynamodb-'));
      let streamArn: string | undefined;
      try {
        await withEngine(startDynamoDbEngine({ dbPath }), async (engine) => {
          const client = dynamo(engine);
          streamArn = await createTable(client, 'durable', true);
          await client.send(
            new PutItemCommand({ TableName: 'durable', Item: { pk: { S: 'k' }, v: { S: '你好' } } }),
          );
          client.destroy();
          process.kill(engine.pid, 'SIGKILL');
        });
        await withEngine(startDynamoDbEngine({ dbPath }), async (engine) => {
          const client = dynamo(engine);
          const got = await client.send(
            new GetItemCommand({ TableName: 'durable', Key: { pk: { S: 'k' } } }),
          );
          expect(got.Item).toEqual({ pk: { S: 'k' }, v: { S: '你好' } });
          // The stream record of the write survives with it.
          const stream = await streamOf(engine, streamArn as string);
          expect(await stream.keys(await stream.iterator('TRIM_HORIZON'))).toEqual(['k']);
          stream.streams.destroy();
          client.destroy();
        });
      } finally {
        await rm(dbPath, { recursive: true, force: true });
      }
    },
    ENGINE_TIMEOUT,
  );
});

describe('ElasticMQ', () => {
  it(
    'sends and receives a message with the AWS JSON protocol, after a warm-up that leaves no queue behind',
    async () => {
      await withEngine(startElasticMq({ warmUpRounds: 5 }), async (engine) => {
        await expectLoopbackOnly(engine.port);
        const sqs = new SQSClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'jobs' }));
        expect(QueueUrl).toBe(`${engine.endpoint}/000000000000/jobs`);
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello 世界' }));
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 1 }),
        );
        expect(Messages?.map((m) => m.Body)).toEqual(['hello 世界']);
        const { QueueUrls } = await sqs.send(new ListQueuesCommand({}));
        expect(QueueUrls).toEqual([QueueUrl]);
        sqs.destroy();
      });
    },
    ENGINE_TIMEOUT,
  );
});

describe('OpenSearch', () => {
  it(
    'finds Chinese and Japanese words with the cjk analyzer',
    async () => {
      await withEngine(startOpenSearch({}), async (engine) => {
        await expectLoopbackOnly(engine.port);
        const call = async (method: string, path: string, body?: unknown) => {
          const response = await fetch(`${engine.endpoint}${path}`, {
            method,
            headers: { 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const json = (await response.json()) as Record<string, unknown>;
          expect(response.ok, JSON.stringify(json)).toBe(true);
          return json;
        };
        await call('PUT', '/messages', {
          settings: { number_of_shards: 1, number_of_replicas: 0 },
          mappings: { properties: { text: { type: 'text', analyzer: 'cjk' } } },
        });
        const docs = ['大家好，你好世界！', '今天天气很好', 'こんにちは、東京', 'plain english hello'];
        for (const [i, text] of docs.entries()) await call('PUT', `/messages/_doc/${i}`, { text });
        await call('POST', '/messages/_refresh');

        const search = async (query: string) => {
          const result = await call('POST', '/messages/_search', {
            query: { match_phrase: { text: query } },
          });
          const { hits } = result.hits as { hits: Array<{ _id: string }> };
          return hits.map((h) => h._id).sort();
        };
        expect(await search('你好')).toEqual(['0']);
        expect(await search('天气')).toEqual(['1']);
        expect(await search('東京')).toEqual(['2']);
        expect(await search('hello')).toEqual(['3']);
      });
    },
    ENGINE_TIMEOUT,
  );
});
