// npm run bench:search — search indexing and query figures against the local engines:
//   1) indexing lag, commit -> searchable, p50/p99 over >= 1000 messages: end to end (HTTP send ->
//      DynamoDB stream -> stream poller -> indexer -> OpenSearch refresh) when the runtime runs OpenSearch
//      and the indexer's event source mapping; otherwise indexer-only (table write -> indexer invoked in
//      micro-batches as a poller would -> refresh), and says so;
//   2) search latency p50/p99: GET /search/messages and GET /users through the HTTP front when the runtime
//      serves them, and the in-process use cases;
//   3) indexer bulk throughput (batches of 100 as the mapping delivers them; 1 and 4 shards in parallel),
//   4) backfill rate (table scan + bulk), fresh and over an index already current.
// 3) and 4) run against a dedicated OpenSearch node so the live pipeline does not skew them.
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { startOpenSearch } from '#local/engines/index.js';
import { ddb } from '#shared/clients/dynamodb.js';
import { config } from '#shared/config/env.js';
import type { MessageItem } from '#shared/data/messages-repo.js';
import { HttpClient } from './lib/http.js';
import { pool } from './lib/pool.js';
import { benchMain, type InProcessRuntime } from './lib/runtime.js';
import { fmtSummary, median, ms, summarize } from './lib/stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LAG_MESSAGES = Number(process.env.BENCH_SEARCH_LAG_MESSAGES ?? 1000);
const CONVERSATIONS = 10;
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 300);
const BULK_DOCS = Number(process.env.BENCH_SEARCH_BULK_DOCS ?? 5000);
const BACKFILL_ITEMS = Number(process.env.BENCH_SEARCH_BACKFILL_ITEMS ?? 10_000);
const tag = randomBytes(3).toString('hex');

// Set-up registers users; the KDF's cost is what bench:auth measures.
process.env.SCRYPT_N ??= '1024';

const WORDS = (
  'apple river mountain window garden coffee letter orange silver planet rocket forest ocean thunder ' +
  'pencil market bridge castle dragon engine feather guitar harbor island jungle kettle lantern meadow ' +
  'needle oyster pepper quartz rabbit saddle tunnel umbrella valley walnut yogurt zipper anchor blossom ' +
  'canyon desert ember falcon glacier hammer igloo jacket koala lemon marble nectar orbit puzzle quiver'
).split(' ');
const CJK = [
  '你好世界',
  '今天天气很好',
  '北京烤鸭',
  '東京は雨です',
  'こんにちは皆さん',
  '안녕하세요 여러분',
  '좋은 아침',
];
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
const sentence = (i: number) =>
  `${Array.from({ length: 6 }, () => pick(WORDS)).join(' ')}${i % 5 === 0 ? ` ${pick(CJK)}` : ''}`;
const query = () => (Math.random() < 0.8 ? pick(WORDS) : pick(CJK).slice(0, 2));
const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));

type Search = typeof import('#shared/adapters/opensearch.js');
const searchModules = async () => ({
  client: await import('#shared/adapters/opensearch.js'),
  indices: await import('#shared/search/indices.js'),
  indexer: await import('#shared/search/indexer.js'),
  queries: await import('#shared/search/queries.js'),
  backfill: await import('#shared/search/backfill.js'),
});
type Modules = Awaited<ReturnType<typeof searchModules>>;

interface User {
  userId: string;
  username: string;
  token: string;
}

async function register(http: HttpClient, n: number): Promise<User> {
  const username = `bs${tag}_${n}`;
  const res = await http.expect<{ user: { userId: string }; token: string }>(201, '/auth/register', {
    body: { username, password: 'bench-password', displayName: `Bench ${n}` },
  });
  return { userId: res.user.userId, username, token: res.token };
}

/** `CONVERSATIONS` groups of two, each with the sender (owner) and a reader. */
async function conversations(http: HttpClient) {
  const users = await pool(
    Array.from({ length: CONVERSATIONS * 2 }, (_, i) => i),
    10,
    (i) => register(http, i),
  );
  return pool(
    Array.from({ length: CONVERSATIONS }, (_, i) => i),
    5,
    async (i) => {
      const [owner, reader] = [users[2 * i] as User, users[2 * i + 1] as User];
      const res = await http.expect<{ conversationId: string }>(201, '/groups', {
        token: owner.token,
        body: { name: `bench ${i}`, memberIds: [reader.userId] },
      });
      return { owner, reader, conversationId: res.conversationId };
    },
  );
}

function insertRecord(table: string, item: MessageItem): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true }) as NonNullable<
    DynamoDBRecord['dynamodb']
  >['NewImage'];
  return {
    eventName: 'INSERT',
    eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${table}/stream/bench`,
    dynamodb: {
      Keys: marshall({ conversationId: item.conversationId, seq: item.seq }) as never,
      NewImage: image,
      SequenceNumber: `${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    },
  };
}

function message(conversationId: string, seq: number, senderId: string): MessageItem {
  return {
    conversationId,
    seq,
    messageId: `m_${conversationId}_${seq}`,
    senderId,
    clientMessageId: `b${seq}`,
    text: sentence(seq),
    createdAt: new Date().toISOString(),
    version: 1,
  };
}

/**
 * Polls the index (real-time visibility = after a refresh) for the awaited documents and records when
 * each first became searchable.
 */
async function watchSearchable(
  client: ReturnType<Search['searchClient']>,
  conversationIds: string[],
  committedAt: Map<string, number>,
  expected: number,
  timeoutMs = 120_000,
): Promise<number[]> {
  const lags: number[] = [];
  const seen = new Set<string>();
  const deadline = performance.now() + timeoutMs;
  let errorsInARow = 0;
  while (seen.size < expected && performance.now() < deadline) {
    let hits: Array<{ _source: { conversationId: string; seq: number } }>;
    try {
      const res = await client.search({
        index: 'messages',
        body: {
          size: 10_000,
          _source: ['conversationId', 'seq'],
          query: { terms: { conversationId: conversationIds } },
        },
      });
      hits = res.body.hits.hits as typeof hits;
      errorsInARow = 0;
    } catch (err) {
      if (++errorsInARow >= 50) throw err;
      await sleep(100);
      continue;
    }
    const at = performance.now();
    for (const hit of hits) {
      const id = `${hit._source.conversationId}#${hit._source.seq}`;
      if (seen.has(id)) continue;
      const t0 = committedAt.get(id);
      if (t0 === undefined) continue; // not committed yet as far as we know (ack in flight)
      seen.add(id);
      lags.push(at - t0);
    }
    await sleep(20);
  }
  if (seen.size < expected)
    console.log(`   warning: only ${seen.size}/${expected} searchable after ${timeoutMs} ms`);
  return lags;
}

/** End to end: HTTP sends; the runtime's stream poller and indexer do the rest. */
async function lagEndToEnd(
  http: HttpClient,
  m: Modules,
  convs: Awaited<ReturnType<typeof conversations>>,
  run: number,
) {
  const committedAt = new Map<string, number>();
  const perConversation = Math.ceil(LAG_MESSAGES / convs.length);
  const watcher = watchSearchable(
    m.client.searchClient(),
    convs.map((c) => c.conversationId),
    committedAt,
    perConversation * convs.length,
  );
  watcher.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection
  const started = performance.now();
  await Promise.all(
    convs.map(async (c) => {
      for (let n = 0; n < perConversation; n++) {
        const res = await http.call<{ seq: number }>(`/conversations/${c.conversationId}/messages`, {
          token: c.owner.token,
          body: { clientMessageId: `lag-${run}-${n}`, text: sentence(n) },
        });
        if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
        committedAt.set(`${c.conversationId}#${res.body.seq}`, performance.now());
      }
    }),
  );
  const sendMs = performance.now() - started;
  return { lags: await watcher, sendMs, messages: perConversation * convs.length };
}

/** Indexer only: table writes, then the indexer invoked in micro-batches as a stream poller would. */
async function lagIndexerOnly(m: Modules, convs: Awaited<ReturnType<typeof conversations>>, run: number) {
  const table = config().tables.messages;
  const committedAt = new Map<string, number>();
  const perConversation = Math.ceil(LAG_MESSAGES / convs.length);
  const watcher = watchSearchable(
    m.client.searchClient(),
    convs.map((c) => c.conversationId),
    committedAt,
    perConversation * convs.length,
  );
  watcher.catch(() => undefined); // awaited below
  const pending: MessageItem[] = [];
  let writing = true;
  const batcher = (async () => {
    while (writing || pending.length) {
      const batch = pending.splice(0, 100);
      if (batch.length)
        await m.indexer.indexStreamEvent({ Records: batch.map((item) => insertRecord(table, item)) });
      else await sleep(50);
    }
  })();
  const started = performance.now();
  await Promise.all(
    convs.map(async (c) => {
      for (let n = 1; n <= perConversation; n++) {
        const item = message(c.conversationId, run * 1_000_000 + n, c.owner.userId);
        await ddb.send(new PutCommand({ TableName: table, Item: item }));
        committedAt.set(`${item.conversationId}#${item.seq}`, performance.now());
        pending.push(item);
      }
    }),
  );
  const sendMs = performance.now() - started;
  writing = false;
  await batcher;
  return { lags: await watcher, sendMs, messages: perConversation * convs.length };
}

async function latencies(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await fn(i); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Indexer throughput: `docs` synthetic message records in batches of 100, `shards` batches in flight. */
async function bulkRun(
  m: Modules,
  client: ReturnType<Search['createSearchClient']>,
  docs: number,
  shards: number,
) {
  const table = config().tables.messages;
  const conversationId = `bulk_${tag}_${randomBytes(3).toString('hex')}`;
  const batches: DynamoDBRecord[][] = [];
  for (let i = 0; i < docs; i += 100) {
    batches.push(
      Array.from({ length: Math.min(100, docs - i) }, (_, k) =>
        insertRecord(table, message(conversationId, i + k + 1, 'u_bench')),
      ),
    );
  }
  const batchMs: number[] = [];
  const started = performance.now();
  await pool(batches, shards, async (records) => {
    const t = performance.now();
    const res = await m.indexer.indexStreamEvent({ Records: records }, { client });
    batchMs.push(performance.now() - t);
    if (res.batchItemFailures.length) throw new Error(`${res.batchItemFailures.length} item failures`);
  });
  return { rate: docs / ((performance.now() - started) / 1000), batch: summarize(batchMs) };
}

async function writeBackfillItems(count: number) {
  const table = config().tables.messages;
  const items = Array.from({ length: count }, (_, i) =>
    message(`backfill_${tag}_${i % 50}`, Math.floor(i / 50) + 1, 'u_bench'),
  );
  const chunks: MessageItem[][] = [];
  for (let i = 0; i < items.length; i += 25) chunks.push(items.slice(i, i + 25));
  await pool(chunks, 8, async (chunk) => {
    let pending: Record<string, unknown>[] | undefined = chunk.map((Item) => ({ PutRequest: { Item } }));
    while (pending?.length) {
      const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = res.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined;
    }
  });
}

async function main(runtime: InProcessRuntime) {
  const live = runtime as InProcessRuntime & {
    searchEndpoint?: string;
    streams?: {
      mappings: ReadonlyArray<{ functionId: string }>;
      idle(o?: { timeoutMs?: number }): Promise<void>;
    };
  };
  const pipeline = Boolean(
    live.searchEndpoint && live.streams?.mappings.some((mp) => /SearchIndexer/.test(mp.functionId)),
  );
  const http = new HttpClient(runtime.httpUrl);

  console.log('starting a dedicated OpenSearch node for throughput figures');
  const dedicated = await startOpenSearch();
  try {
    if (!pipeline) {
      // No OpenSearch in the runtime (yet): the process-wide client uses the dedicated node.
      process.env.SEARCH_ENDPOINT = dedicated.endpoint;
      process.env.SEARCH_SIGNING = 'none';
    }
    const m = await searchModules();
    await m.indices.ensureIndices();
    const isolated = m.client.createSearchClient({
      endpoint: dedicated.endpoint,
      signing: 'none',
      region: undefined,
    });
    await m.indices.ensureIndices(isolated);
    console.log(
      pipeline
        ? `search: the runtime's OpenSearch (${live.searchEndpoint}) fed by its stream poller\n`
        : 'search: the runtime has no OpenSearch/stream poller; indexer-only figures on the dedicated node\n',
    );

    const convs = await conversations(http);

    // 1) lag
    console.log(
      pipeline
        ? `1) indexing lag, HTTP send acknowledged -> searchable, ${LAG_MESSAGES} messages over ${CONVERSATIONS} conversations`
        : `1) indexing lag (indexer only: table write -> indexer in batches of <= 100 every 50 ms -> searchable), ${LAG_MESSAGES} messages`,
    );
    const lagRuns = [];
    for (let r = 1; r <= RUNS; r++) {
      const run = pipeline ? await lagEndToEnd(http, m, convs, r) : await lagIndexerOnly(m, convs, r);
      const s = summarize(run.lags);
      lagRuns.push(s);
      console.log(
        `   run ${r}: ${fmtSummary(s)}; written at ${(run.messages / (run.sendMs / 1000)).toFixed(0)} msg/s`,
      );
    }
    console.log(
      `   median: p50 ${ms(median(lagRuns.map((s) => s.p50)))}, p99 ${ms(median(lagRuns.map((s) => s.p99)))} (refresh_interval 1 s)\n`,
    );

    // 2) search latency
    if (!pipeline) {
      // Make the users searchable on the node in use.
      await m.backfill.backfill({ indices: ['users'] });
    }
    await m.indices.refreshIndices();
    const owner = (convs[0] as (typeof convs)[number]).owner;
    console.log(`2) search latency, ${QUERIES} sequential queries each (one word or a CJK bigram)`);
    const inProcess = summarize(
      await latencies(QUERIES, async () => {
        await m.queries.searchMessages(owner.userId, { q: query(), limit: 20 });
      }),
    );
    console.log(`   searchMessages (in process, membership read + query): ${fmtSummary(inProcess)}`);
    const usersInProcess = summarize(
      await latencies(QUERIES, async (i) => {
        await m.queries.searchUsers(`bs${tag}_${i % 10}`, 20);
      }),
    );
    console.log(`   searchUsers (in process, query + profiles read):      ${fmtSummary(usersInProcess)}`);
    if (pipeline) {
      const viaHttp = summarize(
        await latencies(QUERIES, async () => {
          const res = await http.call(`/search/messages?q=${encodeURIComponent(query())}&limit=20`, {
            token: owner.token,
          });
          if (res.status !== 200) throw new Error(`search: ${res.status} ${JSON.stringify(res.body)}`);
        }),
      );
      console.log(`   GET /search/messages (HTTP front, authorizer):        ${fmtSummary(viaHttp)}`);
      const usersHttp = summarize(
        await latencies(QUERIES, async (i) => {
          const res = await http.call(`/users?q=bs${tag}_${i % 10}`, { token: owner.token });
          if (res.status !== 200) throw new Error(`users: ${res.status} ${JSON.stringify(res.body)}`);
        }),
      );
      console.log(`   GET /users (HTTP front, authorizer):                  ${fmtSummary(usersHttp)}`);
    }
    console.log('');

    // 3) indexer bulk throughput
    console.log(
      `3) indexer throughput, ${BULK_DOCS} new documents in stream batches of 100 (dedicated node)`,
    );
    for (const shards of [1, 4]) {
      const runs = [];
      for (let r = 1; r <= RUNS; r++) runs.push(await bulkRun(m, isolated, BULK_DOCS, shards));
      console.log(
        `   ${shards} shard(s) in parallel: median ${median(runs.map((x) => x.rate)).toFixed(0)} docs/s ` +
          `(runs: ${runs.map((x) => x.rate.toFixed(0)).join(', ')}); one batch of 100: p50 ${ms(median(runs.map((x) => x.batch.p50)))} p99 ${ms(median(runs.map((x) => x.batch.p99)))}`,
      );
    }
    console.log('');

    // 4) backfill
    console.log(
      `4) backfill of the messages table (+${BACKFILL_ITEMS} items written for it) into the dedicated node`,
    );
    await writeBackfillItems(BACKFILL_ITEMS);
    if (pipeline) await live.streams?.idle({ timeoutMs: 600_000 }).catch(() => undefined);
    const fresh = await m.backfill.backfill({ indices: ['messages'], client: isolated });
    const c = fresh.byIndex.messages;
    console.log(
      `   fresh: ${c.scanned} items in ${(fresh.durationMs / 1000).toFixed(1)} s = ${fresh.docsPerSecond.toFixed(0)} docs/s (${c.indexed} indexed, ${c.failed} failed)`,
    );
    const again = [];
    for (let r = 1; r <= RUNS; r++)
      again.push(await m.backfill.backfill({ indices: ['messages'], client: isolated }));
    console.log(
      `   over a current index (all version conflicts): median ${median(again.map((x) => x.docsPerSecond)).toFixed(0)} docs/s`,
    );
    await isolated.close();
    await m.client.closeSearchClient();
  } finally {
    http.close();
    await dedicated.stop();
  }
}

await benchMain('bench:search', main);
