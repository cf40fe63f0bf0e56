// npm run bench:engines — raw DynamoDB engine throughput: PutItem/s and three-item TransactWriteItems/s
// with the same client, load and table shape (streams on, NEW_AND_OLD_IMAGES, as the project's tables).
// Measures the project's engine (started here, in memory) and, for comparison, any engine already
// running elsewhere: BENCH_ENGINE_ENDPOINTS="name=http://127.0.0.1:8000,other=http://127.0.0.1:8001".
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { DYNAMODB_ENGINE_VERSION, startDynamoDbEngine } from '#local/engines/index.js';
import { printHeader, printLoad } from './lib/runtime.js';
import { median, percentile } from './lib/stats.js';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Rate {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

/** `WORKERS` concurrent loops calling `op` for `SECONDS`; ops/s and latency (ms). */
async function measure(op: (i: number) => Promise<unknown>): Promise<Rate> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await op(next++);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

async function benchEndpoint(name: string, endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const table = `bench-engines-${Date.now()}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
  const body = 'x'.repeat(200);
  const puts: Rate[] = [];
  const txs: Rate[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    puts.push(
      await measure((i) =>
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: { pk: { S: `put-${round}-${i}` }, sk: { S: 'a' }, body: { S: body } },
          }),
        ),
      ),
    );
    // Like a message send: three new items, each guarded by a condition, all or nothing.
    txs.push(
      await measure((i) =>
        client.send(
          new TransactWriteItemsCommand({
            TransactItems: ['m', 'guard', 'meta'].map((sk) => ({
              Put: {
                TableName: table,
                Item: { pk: { S: `tx-${round}-${i}` }, sk: { S: sk }, body: { S: body } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          }),
        ),
      ),
    );
  }
  await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
  client.destroy();
  const show = (label: string, rates: Rate[]) => {
    const perSecond = median(rates.map((r) => r.perSecond));
    const p50 = median(rates.map((r) => r.p50));
    const p99 = median(rates.map((r) => r.p99));
    const errors = rates.reduce((a, r) => a + r.errors, 0);
    console.log(
      `${name.padEnd(22)} ${label.padEnd(22)} ${perSecond.toFixed(0).padStart(6)}/s  p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  errors ${errors}  (per round: ${rates.map((r) => r.perSecond.toFixed(0)).join(', ')})`,
    );
  };
  show('PutItem', puts);
  show('TransactWriteItems x3', txs);
}

printHeader(
  `engines: ${WORKERS} concurrent clients, ${ROUNDS} rounds of ${SECONDS} s per operation, median of rounds`,
);
const engine = await startDynamoDbEngine({});
try {
  await benchEndpoint(`${engine.name} ${DYNAMODB_ENGINE_VERSION}`, engine.endpoint);
} finally {
  await engine.stop();
}
for (const entry of (process.env.BENCH_ENGINE_ENDPOINTS ?? '').split(',').filter(Boolean)) {
  const [name, endpoint] = entry.split('=');
  if (!name || !endpoint) throw new Error(`BENCH_ENGINE_ENDPOINTS entry "${entry}" is not name=url`);
  await benchEndpoint(name, endpoint);
}
printLoad('end');
