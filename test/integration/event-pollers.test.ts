// The event pollers' thread (local/event-pollers): stream mappings run there against the DynamoDB engine
// of the test run, and invoke through this thread; errors, stats, idle and stop cross the boundary.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { startEventPollers } from '#local/event-pollers/index.js';
import { unique } from '../support/tables.js';

const endpoint = () => {
  const url = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!url) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set (global setup)');
  return url;
};
const ddb = new DynamoDBClient({
  endpoint: endpoint(),
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
afterAll(() => ddb.destroy());

/** Two stream mappings on one table: Tbl -> Fn (run) and Tbl -> Other (its function is not loadable). */
const template: CfnTemplate = {
  Resources: {
    Tbl: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
    Other: { Type: 'AWS::Lambda::Function', Properties: {} },
    ...Object.fromEntries(
      ['Fn', 'Other'].map((fn) => [
        `Esm${fn}`,
        {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            EventSourceArn: { 'Fn::GetAtt': ['Tbl', 'StreamArn'] },
            FunctionName: { Ref: fn },
            StartingPosition: 'TRIM_HORIZON',
            BatchSize: 10,
          },
        },
      ]),
    ),
  },
};

async function createTable(): Promise<string> {
  const name = unique('pollers_');
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  return name;
}

describe('event pollers in a thread of their own', () => {
  it(
    'delivers records through this thread, retries a function error thrown here, and reports stats, idle and stop',
    async () => {
      const table = await createTable();
      const checkpointDir = await mkdtemp(join(tmpdir(), 'pollers-'));
      const delivered: string[] = [];
      const invoked: string[] = [];
      let failed = false;
      const pollers = await startEventPollers(
        {
          template,
          dynamoEndpoint: endpoint(),
          // No SQS mapping in this template: the queue client is never used.
          sqsEndpoint: 'http://127.0.0.1:9',
          tableNames: { Tbl: table },
          queueUrls: {},
          queues: {},
          queueMappings: [],
          functionIds: ['Fn'],
          checkpointDir,
        },
        async (functionId, event) => {
          invoked.push(functionId);
          const keys = (event as { Records: { dynamodb: { Keys: { pk: { S: string } } } }[] }).Records.map(
            (r) => r.dynamodb.Keys.pk.S,
          );
          if (!failed && keys.includes('k2')) {
            failed = true;
            throw Object.assign(new Error('first attempt fails'), { name: 'Custom.Failure' });
          }
          delivered.push(...keys);
          return undefined;
        },
      );
      try {
        expect(pollers.streams.mappings.map((m) => m.functionId)).toEqual(['Fn']);
        for (let i = 0; i < 5; i++) {
          await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `k${i}` } } }));
        }
        await pollers.streams.idle({ timeoutMs: 60_000 });
        // The failed batch came again whole: every record once after it, in order.
        expect(delivered).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
        expect(new Set(invoked)).toEqual(new Set(['Fn']));
        const stats = await pollers.streams.stats();
        expect(stats).toMatchObject({ recordsRead: 5, recordsSucceeded: 5, functionErrors: 1 });
        await expect(pollers.streams.idle({ mappingId: 'Nope' })).rejects.toThrow(/No running stream mapping/);
      } finally {
        await pollers.stop();
        await pollers.stop();
      }
      // Stop wrote the checkpoints before the thread ended, and the thread is gone.
      expect((await readdir(checkpointDir)).length).toBeGreaterThan(0);
      await expect(pollers.streams.stats()).rejects.toThrow(/stopped/);
      await rm(checkpointDir, { recursive: true, force: true });
    },
    120_000,
  );
});
