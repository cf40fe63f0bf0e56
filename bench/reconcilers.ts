// npm run bench:reconcilers — the scheduled reconcilers' work per run and runs per sweep, against the
// local engines (DynamoDB engine and OpenSearch, started here) with the stack's own tables:
//   1) search: BENCH_RECONCILE_MESSAGES (100,000) messages in the table and the index, with drift (1% of
//      documents lost, 1% stale, 0.5% orphaned). Bounded runs (the scheduled function's `reconcileRun`)
//      go until one sweep ends; per run: items and documents examined, read capacity, time. The drift
//      must be repaired, and no run may examine more than its budget (plus one item per scan segment).
//   2) operations: BENCH_FINISHED_OPERATIONS (20,000) finished and BENCH_UNFINISHED_OPERATIONS (300)
//      unfinished operations; runs until every unfinished one was read. Per run: operations read and
//      read capacity, next to what one scan of the table (the previous design) costs.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbEngine, startOpenSearch } from '#local/engines/index.js';
import { allFunctionsEnvironment } from '#local/environment.js';
import { ensureTables } from '#local/tables.js';
import { cachedTemplate } from '#local/template-cache.js';
import { readTopology } from '#local/topology.js';
import { CapacityMeter } from './lib/capacity.js';
import { pool } from './lib/pool.js';
import { printHeader, printLoad, rootDir } from './lib/runtime.js';
import { median } from './lib/stats.js';

const MESSAGES = Number(process.env.BENCH_RECONCILE_MESSAGES ?? 100_000);
const PER_CONVERSATION = 100;
const FINISHED_OPS = Number(process.env.BENCH_FINISHED_OPERATIONS ?? 20_000);
const UNFINISHED_OPS = Number(process.env.BENCH_UNFINISHED_OPERATIONS ?? 300);
const BUDGET = Number(process.env.BENCH_RECONCILE_BUDGET ?? 20_000);

printHeader('bench:reconcilers');
const [dynamo, search, template] = await Promise.all([
  startDynamoDbEngine({}),
  startOpenSearch({}),
  cachedTemplate(rootDir),
]);
let code = 0;
try {
  const topology = readTopology(template);
  const sdkEnv = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  };
  Object.assign(process.env, sdkEnv);
  await ensureTables(new DynamoDBClient({ endpoint: dynamo.endpoint }), topology);
  Object.assign(
    process.env,
    allFunctionsEnvironment(topology, {
      ...sdkEnv,
      WS_CALLBACK_URL: 'http://127.0.0.1:9',
      SEARCH_ENDPOINT: search.endpoint,
      SEARCH_SIGNING: 'none',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    }),
  );
  const { ddb } = await import('#shared/clients/dynamodb.js');
  const { config } = await import('#shared/config/env.js');
  const meter = new CapacityMeter();
  meter.install(ddb);
  const tables = config().tables;
  console.log(`engines: dynamodb=${dynamo.endpoint} opensearch=${search.endpoint}\n`);

  const readUnits = () => {
    let units = 0;
    for (const t of meter.snapshot().values()) {
      if (t.kind === 'read') units += t.reportedCalls ? t.reported : t.estimated;
    }
    return units;
  };
  const writeBatches = async (table: string, items: Record<string, unknown>[]) => {
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    await pool(batches, 8, async (batch) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length) {
        const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    });
  };

  // --- 1) search ------------------------------------------------------------------------------------
  console.log(`## search reconciler: ${MESSAGES} messages, budget ${BUDGET} items + documents per run`);
  let t = performance.now();
  const messages = Array.from({ length: MESSAGES }, (_, i) => {
    const conversationId = `c_bench${String(Math.floor(i / PER_CONVERSATION)).padStart(6, '0')}`;
    const seq = (i % PER_CONVERSATION) + 1;
    return {
      conversationId,
      seq,
      messageId: `m_${conversationId}_${seq}`,
      senderId: 'u_bench',
      clientMessageId: `c${i}`,
      text: `message ${i} about apples and rivers`,
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      version: 1,
    };
  });
  await writeBatches(tables.messages, messages);
  console.log(`seeded the table in ${Math.round(performance.now() - t)} ms`);
  t = performance.now();
  const { backfill } = await import('#shared/search/backfill.js');
  const filled = await backfill({ indices: ['messages'], segments: 4, pageSize: 1000 });
  console.log(`indexed ${filled.docs} documents (backfill) in ${Math.round(performance.now() - t)} ms`);

  // Drift, made behind the indexer's back.
  const { searchClient } = await import('#shared/adapters/opensearch.js');
  const client = searchClient();
  const lost = messages.filter((_, i) => i % 100 === 0);
  const stale = messages.filter((_, i) => i % 100 === 1);
  const orphaned = messages.filter((_, i) => i % 200 === 2);
  const docId = (m: { conversationId: string; seq: number }) => `${m.conversationId}#${m.seq}`;
  for (let i = 0; i < lost.length; i += 500) {
    await client.bulk({
      body: lost.slice(i, i + 500).map((m) => ({ delete: { _index: 'messages', _id: docId(m) } })),
    });
  }
  await pool(stale, 8, (m) =>
    ddb.send(
      new UpdateCommand({
        TableName: tables.messages,
        Key: { conversationId: m.conversationId, seq: m.seq },
        UpdateExpression: 'SET #text = :text, version = :v',
        ExpressionAttributeNames: { '#text': 'text' },
        ExpressionAttributeValues: { ':text': `${m.text} (edited)`, ':v': 2 },
      }),
    ),
  );
  await pool(orphaned, 8, (m) =>
    ddb.send(
      new DeleteCommand({
        TableName: tables.messages,
        Key: { conversationId: m.conversationId, seq: m.seq },
      }),
    ),
  );
  await client.indices.refresh({ index: 'messages' });
  console.log(`drift: ${lost.length} documents lost, ${stale.length} stale, ${orphaned.length} orphaned\n`);

  const { reconcileRun } = await import('#shared/search/reconcile.js');
  const runs: Array<{ checked: number; items: number; docs: number; rcu: number; ms: number }> = [];
  const totals = { missing: 0, stale: 0, orphaned: 0, indexed: 0, deleted: 0, failed: 0 };
  const segments = 4;
  for (;;) {
    meter.reset();
    const started = performance.now();
    const run = await reconcileRun({ budget: BUDGET, segments });
    const ms = performance.now() - started;
    runs.push({ checked: run.checked, items: run.checkedItems, docs: run.checkedDocs, rcu: readUnits(), ms });
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += run[k];
    console.log(
      `run ${String(runs.length).padStart(2)}: ${String(run.checkedItems).padStart(6)} items + ${String(run.checkedDocs).padStart(6)} documents examined, ` +
        `${readUnits().toFixed(0).padStart(6)} read units, ${Math.round(ms)} ms -> ${run.position} (${run.stoppedBy})`,
    );
    if (run.checked > BUDGET + segments)
      throw new Error(`run ${runs.length} went over its budget: ${run.checked}`);
    if (run.sweepsCompleted > 0) break;
    if (runs.length > 1000) throw new Error('no sweep ended after 1000 runs');
  }
  const examined = runs.reduce((n, r) => n + r.checked, 0);
  const largest = Math.max(...runs.map((r) => r.checked));
  const tableItems = MESSAGES - orphaned.length;
  console.log(
    `\nsearch: ${runs.length} runs covered ${tableItems} items and their documents (${examined} examined); ` +
      `largest run ${largest} = ${((100 * largest) / tableItems).toFixed(1)}% of the table; ` +
      `median ${Math.round(median(runs.map((r) => r.checked)))} examined, ` +
      `${Math.round(median(runs.map((r) => r.rcu)))} read units and ${Math.round(median(runs.map((r) => r.ms)))} ms per run; ` +
      `${runs.reduce((n, r) => n + r.rcu, 0).toFixed(0)} read units per sweep`,
  );
  console.log(
    `repairs: ${totals.missing} missing, ${totals.stale} stale, ${totals.orphaned} orphaned -> ` +
      `${totals.indexed} indexed, ${totals.deleted} deleted, ${totals.failed} failed`,
  );
  if (totals.missing < lost.length || totals.stale < stale.length || totals.orphaned < orphaned.length) {
    throw new Error('the sweep did not find all the drift');
  }
  if (totals.failed) throw new Error('repairs failed');

  // --- 2) operations ---------------------------------------------------------------------------------
  console.log(
    `\n## operations reconciler: ${FINISHED_OPS} finished, ${UNFINISHED_OPS} unfinished operations`,
  );
  const { unfinishedShardOf } = await import('#shared/data/operations-repo.js');
  const old = new Date(Date.now() - 3_600_000).toISOString();
  const finished = Array.from({ length: FINISHED_OPS }, (_, i) => ({
    operationId: `op_done${i}`,
    type: 'createGroup',
    userId: 'u_bench',
    status: 'succeeded',
    error: null,
    input: { conversationId: `c_done${i}` },
    executions: 1,
    createdAt: old,
    updatedAt: old,
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
  }));
  // Unfinished: their group became active but the saga died before recording it (no execution).
  const unfinished = Array.from({ length: UNFINISHED_OPS }, (_, i) => ({
    operationId: `op_open${i}`,
    type: 'createGroup',
    userId: 'u_bench',
    status: 'running',
    error: null,
    input: { conversationId: `c_open${i}` },
    executions: 0,
    createdAt: old,
    updatedAt: old,
    unfinishedShard: unfinishedShardOf(`op_open${i}`),
  }));
  await writeBatches(tables.operations, [...finished, ...unfinished]);
  await writeBatches(
    tables.conversations,
    unfinished.map((op) => ({ conversationId: op.input.conversationId, type: 'group', status: 'active' })),
  );
  meter.reset();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: tables.operations, ExclusiveStartKey: start }));
    start = page.LastEvaluatedKey;
  } while (start);
  const scanUnits = readUnits();
  const { reconcileOperations, DEFAULT_OPERATIONS_BUDGET } = await import('#shared/sagas/reconcile.js');
  const opRuns: Array<{ read: number; rcu: number }> = [];
  let repaired = 0;
  for (let run = 1; ; run++) {
    meter.reset();
    const report = await reconcileOperations({ olderThanMs: 0 });
    // Reads of the index only (the repairs' own reads and writes are the same in either design).
    const rcu = [...meter.snapshot().entries()]
      .filter(([op]) => op === 'Query')
      .reduce((n, [, t]) => n + (t.reportedCalls ? t.reported : t.estimated), 0);
    opRuns.push({ read: report.read, rcu });
    repaired += report.markedSucceeded.length;
    console.log(
      `run ${run}: ${report.read} unfinished operations read (${rcu.toFixed(1)} read units), ${report.markedSucceeded.length} repaired`,
    );
    if (report.covered) break;
    if (run > 1000) throw new Error('operations never covered');
  }
  console.log(
    `\noperations: ${opRuns.length} runs (budget ${DEFAULT_OPERATIONS_BUDGET}) read all ${UNFINISHED_OPS} unfinished operations; ` +
      `${opRuns.reduce((n, r) => n + r.rcu, 0).toFixed(1)} read units in all, against ${scanUnits.toFixed(0)} for one scan of the ` +
      `${FINISHED_OPS + UNFINISHED_OPS}-item table (what every run read before)`,
  );
  if (repaired !== UNFINISHED_OPS) throw new Error(`repaired ${repaired} of ${UNFINISHED_OPS}`);
  if (opRuns.some((r) => r.read > DEFAULT_OPERATIONS_BUDGET))
    throw new Error('an operations run went over its budget');
  const { closeSearchClient } = await import('#shared/adapters/opensearch.js');
  await closeSearchClient();
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await Promise.allSettled([dynamo.stop(), search.stop()]);
  printLoad('end');
}
process.exit(code);
