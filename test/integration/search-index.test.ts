// The search side against a real OpenSearch node (started here) and the test run's DynamoDB engine:
// the stream indexer, the operations (backfill, reconciler, dead-letter replay) and the search routes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEngine, startElasticMq, startOpenSearch } from '#local/engines/index.js';
import { config } from '#shared/config/env.js';
import type { MessageItem } from '#shared/data/messages-repo.js';
import { getUser, type UserItem } from '#shared/data/users-repo.js';
import { removeMember } from '#shared/domain/groups.js';
import { handler as searchMessagesHandler } from '../../functions/http/messages-search.js';
import { handler as searchUsersHandler } from '../../functions/http/users-search.js';
import { handler as indexerHandler } from '../../functions/streams/search-indexer.js';
import { call, httpEvent, lambdaContext } from '../support/lambda.js';
import { group } from '../support/social.js';
import { unique } from '../support/tables.js';
import { newUser } from '../support/users.js';

// Set before any search module creates its client (on first use).
let os: RunningEngine;
let dataPath: string;
const ddbClient = new DynamoDBClient({});
const doc = DynamoDBDocumentClient.from(ddbClient, { marshallOptions: { removeUndefinedValues: true } });

beforeAll(async () => {
  dataPath = await mkdtemp(join(tmpdir(), 'search-test-'));
  os = await startOpenSearch({ dataPath });
  process.env.SEARCH_ENDPOINT = os.endpoint;
  process.env.SEARCH_SIGNING = 'none';
  const { ensureIndices } = await import('#shared/search/indices.js');
  await ensureIndices();
}, 300_000);

afterAll(async () => {
  const { closeSearchClient } = await import('#shared/adapters/opensearch.js');
  await closeSearchClient();
  await os?.stop();
  if (dataPath) await rm(dataPath, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// helpers: stream events built with marshall, index inspection

const search = () => import('#shared/adapters/opensearch.js').then((m) => m.searchClient());
const tables = () => config().tables;
let sequence = 10n ** 20n;
const nextSeq = () => (++sequence).toString();

const arnOf = (table: string) =>
  `arn:aws:dynamodb:us-east-1:000000000000:table/${table}/stream/2026-01-01T00:00:00.000`;

type Item = object;
function record(
  table: string,
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  keys: Item,
  images: { newImage?: Item; oldImage?: Item },
): DynamoDBRecord {
  const m = (item: Item) => marshall(item as Record<string, unknown>, { removeUndefinedValues: true }) as any;
  return {
    eventID: nextSeq(),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: arnOf(table),
    dynamodb: {
      ApproximateCreationDateTime: Date.now() / 1000,
      Keys: m(keys),
      NewImage: images.newImage ? m(images.newImage) : undefined,
      OldImage: images.oldImage ? m(images.oldImage) : undefined,
      SequenceNumber: nextSeq(),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}
const msgKey = (m: MessageItem) => ({ conversationId: m.conversationId, seq: m.seq });
const msgUpsert = (m: MessageItem, old?: MessageItem) =>
  record(tables().messages, old ? 'MODIFY' : 'INSERT', msgKey(m), { newImage: m, oldImage: old });
const msgRemove = (old: MessageItem) => record(tables().messages, 'REMOVE', msgKey(old), { oldImage: old });
const userUpsert = (u: { userId: string }, old?: Item) =>
  record(tables().users, old ? 'MODIFY' : 'INSERT', { userId: u.userId }, { newImage: u, oldImage: old });

const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const indexer = (event: DynamoDBStreamEvent) => indexerHandler(event, lambdaContext());

function message(conversationId: string, seq: number, version: number, text = `message ${seq} v${version}`) {
  return {
    conversationId,
    seq,
    messageId: `m_${conversationId}_${seq}`,
    senderId: 'u_sender',
    clientMessageId: `c${seq}`,
    text,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    version,
  } satisfies MessageItem;
}

async function getDoc(index: 'users' | 'messages', id: string) {
  const client = await search();
  const res = await client.get({ index, id }, { ignore: [404] });
  const body = res.body as { found?: boolean; _version?: number; _source?: any };
  return { found: body.found === true, version: body._version, source: body._source };
}
const messageDocId = (m: { conversationId: string; seq: number }) => `${m.conversationId}#${m.seq}`;

async function refresh() {
  const { refreshIndices } = await import('#shared/search/indices.js');
  await refreshIndices();
}

const searchMessagesAs = (userId: string, query: Record<string, string>) =>
  call(searchMessagesHandler, httpEvent('GET /search/messages', '/search/messages', { userId, query }));
const searchUsersAs = (userId: string, query: Record<string, string>) =>
  call(searchUsersHandler, httpEvent('GET /users', '/users', { userId, query }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------

describe('stream indexer', () => {
  it('converges to the latest version whatever the order and duplication of records', async () => {
    const c = unique('conv');
    const v = [1, 2, 3].map((n) => message(c, 1, n, `edit number ${n}`));
    const [v1, v2, v3] = v as [MessageItem, MessageItem, MessageItem];
    // Newest first, then duplicates and older versions in separate batches.
    expect(await indexer(streamEvent(msgUpsert(v3, v2), msgUpsert(v1)))).toEqual({ batchItemFailures: [] });
    expect(await indexer(streamEvent(msgUpsert(v2, v1), msgUpsert(v3, v2), msgUpsert(v1)))).toEqual({
      batchItemFailures: [],
    });
    const d = await getDoc('messages', messageDocId(v3));
    expect(d.found).toBe(true);
    expect(d.source.text).toBe('edit number 3');
    expect(d.version).toBe(6); // 2 x item version

    // Many documents, every version delivered twice in a shuffled order across batches.
    const docs = Array.from({ length: 20 }, (_, i) => [1, 2, 3, 4].map((n) => message(c, 100 + i, n)));
    const records = docs.flatMap((versions) => versions.flatMap((m) => [msgUpsert(m), msgUpsert(m)]));
    records.sort(() => Math.random() - 0.5);
    for (let i = 0; i < records.length; i += 37) {
      expect((await indexer(streamEvent(...records.slice(i, i + 37)))).batchItemFailures).toEqual([]);
    }
    for (const versions of docs) {
      const latest = versions[3] as MessageItem;
      const got = await getDoc('messages', messageDocId(latest));
      expect(got.source.text).toBe(latest.text);
      expect(got.version).toBe(8);
    }
  });

  it('deletes on REMOVE, and older records delivered afterwards do not resurrect the document', async () => {
    const c = unique('conv');
    const v1 = message(c, 1, 1);
    const v2 = message(c, 1, 2);
    await indexer(streamEvent(msgUpsert(v1), msgUpsert(v2, v1)));
    expect((await getDoc('messages', messageDocId(v1))).found).toBe(true);
    expect(await indexer(streamEvent(msgRemove(v2)))).toEqual({ batchItemFailures: [] });
    expect((await getDoc('messages', messageDocId(v1))).found).toBe(false);
    // Replays of the whole history, in any order, after the delete.
    expect(await indexer(streamEvent(msgUpsert(v2, v1), msgUpsert(v1), msgRemove(v2)))).toEqual({
      batchItemFailures: [],
    });
    expect((await getDoc('messages', messageDocId(v1))).found).toBe(false);
    // A REMOVE delivered before the INSERT it follows (different batches, reversed) also holds.
    const w = message(c, 2, 1);
    await indexer(streamEvent(msgRemove(w)));
    await indexer(streamEvent(msgUpsert(w)));
    expect((await getDoc('messages', messageDocId(w))).found).toBe(false);
  });

  it('removes users who are not active and brings them back at a newer version', async () => {
    const base = {
      userId: unique('u_'),
      username: unique('zed').slice(0, 20),
      displayName: 'Zed Example',
      bio: 'hi',
      passwordHash: 'x',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    const active1 = { ...base, version: 1, status: 'active' };
    const deleting1 = { ...base, version: 1, status: 'deleting' }; // a status change without a version bump
    const deleting2 = { ...base, version: 2, status: 'deleting' };
    const active3 = { ...base, version: 3, status: 'active', displayName: 'Zed Again' };
    await indexer(streamEvent(userUpsert(active1)));
    let d = await getDoc('users', base.userId);
    expect(d.found).toBe(true);
    expect(d.source).toEqual({
      userId: base.userId,
      username: base.username,
      displayName: 'Zed Example',
      bio: 'hi',
    });
    await indexer(streamEvent(userUpsert(deleting1, active1)));
    expect((await getDoc('users', base.userId)).found).toBe(false);
    await indexer(streamEvent(userUpsert(active1), userUpsert(deleting2, deleting1), userUpsert(active1)));
    expect((await getDoc('users', base.userId)).found).toBe(false);
    await indexer(streamEvent(userUpsert(active3, deleting2)));
    d = await getDoc('users', base.userId);
    expect(d.found).toBe(true);
    expect(d.source.displayName).toBe('Zed Again');
  });

  it('reports a poison record as a batch item failure and indexes the rest of the batch', async () => {
    const c = unique('conv');
    const good = [1, 2, 4, 5].map((seq) => message(c, seq, 1));
    const poison = { ...message(c, 3, 1), createdAt: 'not a date' };
    const noVersion = { ...message(c, 6, 1), version: undefined } as unknown as MessageItem;
    const records = [
      msgUpsert(good[0]!),
      msgUpsert(good[1]!),
      msgUpsert(poison),
      msgUpsert(good[2]!),
      msgUpsert(noVersion),
      msgUpsert(good[3]!),
      // A record of a table the index does not follow is skipped, not failed.
      record(tables().friendships, 'INSERT', { userId: 'a', friendId: 'b' }, { newImage: { userId: 'a' } }),
    ];
    const res = await indexer(streamEvent(...records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      records[2]!.dynamodb!.SequenceNumber,
      records[4]!.dynamodb!.SequenceNumber,
    ]);
    for (const m of good) expect((await getDoc('messages', messageDocId(m))).found).toBe(true);
    expect((await getDoc('messages', messageDocId(poison))).found).toBe(false);
  });

  it('throws while OpenSearch is down (503 for searches) and converges on re-delivery after it is back', async () => {
    const c = unique('conv');
    // A stream of changes to 30 messages: inserts, two edits each, and every fifth deleted at the end.
    const history: DynamoDBRecord[] = [];
    const final = new Map<string, MessageItem | undefined>();
    for (let seq = 1; seq <= 30; seq++) {
      const versions = [1, 2, 3].map((n) => message(c, seq, n, `restart ${seq} v${n}`));
      history.push(
        msgUpsert(versions[0]!),
        msgUpsert(versions[1]!, versions[0]),
        msgUpsert(versions[2]!, versions[1]),
      );
      final.set(messageDocId(versions[2]!), versions[2]);
      if (seq % 5 === 0) {
        history.push(msgRemove(versions[2]!));
        final.set(messageDocId(versions[2]!), undefined);
      }
    }
    const batches: DynamoDBRecord[][] = [];
    for (let i = 0; i < history.length; i += 10) batches.push(history.slice(i, i + 10));

    // The event source mapping's contract: a batch that throws is retried as it is, in order.
    let thrown = 0;
    let restarted: Promise<void> | undefined;
    const port = os.port;
    for (const [i, batch] of batches.entries()) {
      if (i === 3) {
        await os.stop();
        // A search meanwhile is 503 unavailable, not 500.
        const u = await newUser('down');
        const res = await searchUsersAs(u.userId, { q: 'anything' });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('unavailable');
        restarted = (async () => {
          await sleep(2_000);
          os = await startOpenSearch({ dataPath, port });
        })();
      }
      for (;;) {
        try {
          const res = await indexer(streamEvent(...batch));
          expect(res.batchItemFailures).toEqual([]);
          break;
        } catch {
          thrown++;
          await sleep(500);
        }
      }
    }
    await restarted;
    expect(thrown).toBeGreaterThan(0);
    for (const [id, m] of final) {
      const d = await getDoc('messages', id);
      if (m) {
        expect(d.found, id).toBe(true);
        expect(d.source.text).toBe(m.text);
      } else {
        expect(d.found, id).toBe(false);
      }
    }
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------------

describe('operations', () => {
  it('backfills while writes go on, without undoing newer writes or resurrecting deleted items', async () => {
    const { backfill } = await import('#shared/search/backfill.js');
    const c = unique('bf');
    const items = Array.from({ length: 300 }, (_, i) => message(c, i + 1, 1, `backfill ${i + 1}`));
    for (let i = 0; i < items.length; i += 25) {
      await Promise.all(
        items
          .slice(i, i + 25)
          .map((m) => doc.send(new PutCommand({ TableName: tables().messages, Item: m }))),
      );
    }
    // Live traffic during the backfill: edits (v2) and deletes, each written to the table, then indexed
    // from its stream record (as the indexer would).
    const live = (async () => {
      for (let i = 0; i < items.length; i += 3) {
        const old = items[i]!;
        if (i % 2 === 0) {
          const edited = { ...old, version: 2, text: `edited ${old.seq}` };
          await doc.send(new PutCommand({ TableName: tables().messages, Item: edited }));
          items[i] = edited;
          await indexer(streamEvent(msgUpsert(edited, old)));
        } else {
          await doc.send(new DeleteCommand({ TableName: tables().messages, Key: msgKey(old) }));
          items[i] = { ...old, version: -1 };
          await indexer(streamEvent(msgRemove(old)));
        }
      }
    })();
    const [report] = await Promise.all([
      backfill({ indices: ['messages'], segments: 2, pageSize: 50 }),
      live,
    ]);
    expect(report.byIndex.messages.scanned).toBeGreaterThanOrEqual(200);
    expect(report.byIndex.messages.failed).toBe(0);
    // Once more after the writes: a backfill of a current index changes nothing of ours.
    await backfill({ indices: ['messages'] });
    for (const m of items) {
      const d = await getDoc('messages', messageDocId(m));
      if (m.version === -1) expect(d.found, `${m.seq} deleted`).toBe(false);
      else {
        expect(d.found, `${m.seq}`).toBe(true);
        expect(d.source.text).toBe(m.text);
        expect(d.version).toBe(2 * m.version);
      }
    }
  }, 120_000);

  it('reconciles: restores a document deleted behind its back, refreshes a stale one, removes orphans', async () => {
    const { reconcile } = await import('#shared/search/reconcile.js');
    const client = await search();
    const c = unique('rc');
    const [deletedDoc, staleDoc, orphanDoc, fine] = [1, 2, 3, 4].map((seq) =>
      message(c, seq, 1, `reconcile ${seq}`),
    );
    for (const m of [deletedDoc, staleDoc, orphanDoc, fine] as MessageItem[]) {
      await doc.send(new PutCommand({ TableName: tables().messages, Item: m }));
      await indexer(streamEvent(msgUpsert(m)));
    }
    // Behind the indexer's back: a manual delete, an update whose record never arrived, an item deleted
    // without its REMOVE.
    await client.delete({ index: 'messages', id: messageDocId(deletedDoc!) });
    const newer = { ...staleDoc!, version: 2, text: 'reconcile newer text' };
    await doc.send(new PutCommand({ TableName: tables().messages, Item: newer }));
    await doc.send(new DeleteCommand({ TableName: tables().messages, Key: msgKey(orphanDoc!) }));
    // And a user whose deactivation never reached the index.
    const u = await newUser('rcuser');
    const user = (await getUser(u.userId)) as UserItem;
    await indexer(streamEvent(userUpsert(user)));
    await doc.send(
      new UpdateCommand({
        TableName: tables().users,
        Key: { userId: u.userId },
        UpdateExpression: 'SET #s = :d, version = version + :one',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':d': 'deleting', ':one': 1 },
      }),
    );
    await refresh();

    const report = await reconcile();
    expect(report.complete).toBe(true);
    expect(report.failed).toBe(0);
    expect(report.checked).toBeGreaterThan(0);
    expect(report.restored).toBeGreaterThanOrEqual(1);
    expect(report.stale).toBeGreaterThanOrEqual(1);
    expect(report.orphaned).toBeGreaterThanOrEqual(1);
    expect(report.inactive).toBeGreaterThanOrEqual(1);
    expect(report.indexed).toBeGreaterThanOrEqual(2);
    expect(report.deleted).toBeGreaterThanOrEqual(2);

    expect((await getDoc('messages', messageDocId(deletedDoc!))).source?.text).toBe('reconcile 1');
    expect((await getDoc('messages', messageDocId(staleDoc!))).source?.text).toBe('reconcile newer text');
    expect((await getDoc('messages', messageDocId(orphanDoc!))).found).toBe(false);
    expect((await getDoc('messages', messageDocId(fine!))).found).toBe(true);
    expect((await getDoc('users', u.userId)).found).toBe(false);

    // The restored document still yields to the next version and to a removal.
    const v2 = { ...deletedDoc!, version: 2, text: 'reconcile 1 edited' };
    await indexer(streamEvent(msgUpsert(v2, deletedDoc)));
    expect((await getDoc('messages', messageDocId(v2))).source?.text).toBe('reconcile 1 edited');
    await indexer(streamEvent(msgRemove(v2)));
    expect((await getDoc('messages', messageDocId(v2))).found).toBe(false);

    // Nothing left to repair for these documents on a second run.
    await refresh();
    const again = await reconcile({ indices: ['messages'] });
    expect(again.failed).toBe(0);
    expect((await getDoc('messages', messageDocId(orphanDoc!))).found).toBe(false);
  }, 120_000);

  it('reconciles in bounded runs that resume from a saved cursor and together cover everything', async () => {
    const { reconcileRun } = await import('#shared/search/reconcile.js');
    const client = await search();
    const c = unique('rb');
    const items = Array.from({ length: 40 }, (_, i) => message(c, i + 1, 1, `bounded ${i + 1}`));
    for (const m of items) await doc.send(new PutCommand({ TableName: tables().messages, Item: m }));
    // Indexed, then drift: a third of the documents lost, one orphan whose item was deleted unseen.
    for (const m of items) await indexer(streamEvent(msgUpsert(m)));
    for (const m of items.filter((_, i) => i % 3 === 0)) {
      await client.delete({ index: 'messages', id: messageDocId(m) });
    }
    const orphan = items[1] as MessageItem;
    await doc.send(new DeleteCommand({ TableName: tables().messages, Key: msgKey(orphan) }));
    await refresh();

    const budget = 150;
    const segments = 3;
    const runs: Awaited<ReturnType<typeof reconcileRun>>[] = [];
    // The sweep in progress when this test starts ends first; the next one starts after the drift.
    while (runs.filter((r) => r.sweepsCompleted > 0).length < 2) {
      const run = await reconcileRun({ budget, segments, pageSize: 50 });
      runs.push(run);
      expect(run.failed).toBe(0);
      // Pages are cut to the budget left: a run examines at most its budget plus one item per segment.
      expect(run.checked).toBeLessThanOrEqual(budget + segments);
      expect(run.stoppedBy === 'budget' || run.stoppedBy === 'sweep-end').toBe(true);
      expect(runs.length).toBeLessThan(2000);
    }
    // The tables hold every other test's data too: a sweep needs several bounded runs.
    expect(runs.length).toBeGreaterThan(2);
    expect(runs.at(-1)?.sweep).toBe((runs[0]?.sweep ?? 0) + 2);
    for (const m of items) {
      const d = await getDoc('messages', messageDocId(m));
      if (m === orphan) expect(d.found, `${m.seq}`).toBe(false);
      else expect(d.source?.text, `${m.seq}`).toBe(m.text);
    }
  }, 300_000);

  it('replays dead letters from the stream, or reconciles when the records are gone', async () => {
    const { replayDeadLetters } = await import('#shared/search/dead-letters.js');
    const mq = await startElasticMq();
    try {
      const sqs = new SQSClient({ endpoint: mq.endpoint });
      const streams = new DynamoDBStreamsClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique('dlq') }));
      // Items written to the real table; their stream records are what the failed batch covered.
      const c = unique('dl');
      const items = [1, 2, 3].map((seq) => message(c, seq, 1, `dead letter ${seq}`));
      for (const m of items) await doc.send(new PutCommand({ TableName: tables().messages, Item: m }));
      const edited = { ...items[1]!, version: 2, text: 'dead letter 2 edited' };
      await doc.send(new PutCommand({ TableName: tables().messages, Item: edited }));
      await doc.send(new DeleteCommand({ TableName: tables().messages, Key: msgKey(items[2]!) }));
      // The third item's document exists (indexed before it was deleted); the replay must remove it.
      await indexer(streamEvent(msgUpsert(items[2]!)));
      const found = await findStreamRecords(streams, tables().messages, c);
      expect(found.records.length).toBe(5);
      const first = found.records[0]!;
      const last = found.records[found.records.length - 1]!;
      const onFailure = (batch: Record<string, unknown>) =>
        JSON.stringify({
          requestContext: {
            requestId: 'r',
            functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:SearchIndexer',
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: 11,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: new Date().toISOString(),
          DDBStreamBatchInfo: {
            approximateArrivalOfFirstRecord: new Date().toISOString(),
            approximateArrivalOfLastRecord: new Date().toISOString(),
            ...batch,
          },
        });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: onFailure({
            shardId: found.shardId,
            startSequenceNumber: first.dynamodb!.SequenceNumber,
            endSequenceNumber: last.dynamodb!.SequenceNumber,
            batchSize: found.records.length,
            streamArn: found.streamArn,
          }),
        }),
      );
      // A batch no longer in the stream (its shard is gone): the users index is reconciled instead.
      const u = await newUser('dluser');
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: onFailure({
            shardId: 'shardId-00000000000000000000-gone0000',
            startSequenceNumber: '100',
            endSequenceNumber: '200',
            batchSize: 2,
            streamArn: found.streamArn.replace(`table/${tables().messages}/`, `table/${tables().users}/`),
          }),
        }),
      );
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"not":"an on-failure record"}' }));

      const lines: string[] = [];
      const report = await replayDeadLetters({ queueUrl: QueueUrl, sqs, streams, log: (l) => lines.push(l) });
      expect(report.received).toBe(3);
      expect(report.deleted).toBe(2);
      expect(report.kept).toBe(1);
      expect(report.records).toBeGreaterThanOrEqual(5);
      expect(report.failed).toBe(0);
      expect(report.reconciled).toEqual(['users']);
      expect(lines.join('\n')).toMatch(/no longer in the stream/);

      expect((await getDoc('messages', messageDocId(items[0]!))).source?.text).toBe('dead letter 1');
      expect((await getDoc('messages', messageDocId(items[1]!))).source?.text).toBe('dead letter 2 edited');
      expect((await getDoc('messages', messageDocId(items[2]!))).found).toBe(false);
      expect((await getDoc('users', u.userId)).found).toBe(true);

      // The scheduled reconciler acknowledges the dead letters waiting when it started, once its
      // reconcile of their table completed without failures.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: onFailure({
            shardId: found.shardId,
            startSequenceNumber: first.dynamodb!.SequenceNumber,
            endSequenceNumber: last.dynamodb!.SequenceNumber,
            batchSize: found.records.length,
            streamArn: found.streamArn,
          }),
        }),
      );
      const env = { url: process.env.SEARCH_DLQ_URL, sqs: process.env.AWS_ENDPOINT_URL_SQS };
      process.env.SEARCH_DLQ_URL = QueueUrl;
      process.env.AWS_ENDPOINT_URL_SQS = mq.endpoint;
      try {
        const { handler } = await import('../../functions/ops/search-reconciler.js');
        const summary = await handler({}, lambdaContext(300_000));
        expect(summary.complete).toBe(true);
        expect(summary.failed).toBe(0);
        expect(summary.deadLettersHeld).toBe(1);
        expect(summary.deadLettersCleared).toBe(1);
      } finally {
        process.env.SEARCH_DLQ_URL = env.url;
        process.env.AWS_ENDPOINT_URL_SQS = env.sqs;
        if (env.url === undefined) delete process.env.SEARCH_DLQ_URL;
        if (env.sqs === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      }
      sqs.destroy();
      streams.destroy();
    } finally {
      await mq.stop();
    }
  }, 180_000);
});

/** The stream records of one conversation's items in the table's stream (the local DynamoDB engine). */
async function findStreamRecords(streams: DynamoDBStreamsClient, table: string, conversationId: string) {
  const described = await ddbClient.send(new DescribeTableCommand({ TableName: table }));
  const streamArn = described.Table?.LatestStreamArn as string;
  const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription
    ?.Shards;
  for (const shard of shards ?? []) {
    const records = [];
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    for (let empty = 0; iterator && empty < 3; ) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      if (!page.Records?.length) empty++;
      for (const r of page.Records ?? []) {
        const keys = unmarshall((r.dynamodb?.Keys ?? {}) as any);
        if (keys.conversationId === conversationId) records.push(r);
      }
      iterator = page.NextShardIterator;
    }
    if (records.length) return { streamArn, shardId: shard.ShardId as string, records };
  }
  throw new Error(`no stream records for ${conversationId}`);
}

// ---------------------------------------------------------------------------------------------------

describe('search routes', () => {
  it('GET /users finds users by username prefix and display name, only active ones', async () => {
    const tag = unique('')
      .slice(-6)
      .replace(/[^a-z0-9]/g, 'x');
    const alice = await newUser(`alice${tag}`);
    const bob = await newUser(`bob${tag}`);
    const gone = await newUser(`alicia${tag}`);
    for (const u of [alice, bob, gone])
      await indexer(streamEvent(userUpsert((await getUser(u.userId)) as UserItem)));
    // Deactivated in the table but not (yet) in the index: never shown.
    await doc.send(
      new UpdateCommand({
        TableName: tables().users,
        Key: { userId: gone.userId },
        UpdateExpression: 'SET #s = :d',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':d': 'deleting' },
      }),
    );
    await refresh();

    const byPrefix = await searchUsersAs(bob.userId, { q: alice.username.slice(0, 8) });
    expect(byPrefix.status).toBe(200);
    expect(byPrefix.body.items.map((p: any) => p.userId)).toEqual([alice.userId]);
    expect(byPrefix.body.items[0]).toEqual({
      userId: alice.userId,
      username: alice.username,
      displayName: `alice${tag}`,
      bio: '',
    });
    const exact = await searchUsersAs(bob.userId, { q: `@${bob.username.toUpperCase()}` });
    expect(exact.body.items[0]?.userId).toBe(bob.userId);
    const byName = await searchUsersAs(alice.userId, { q: `bob${tag}`, limit: '5' });
    expect(byName.body.items.map((p: any) => p.userId)).toContain(bob.userId);
    const none = await searchUsersAs(alice.userId, { q: `alicia${tag}` });
    expect(none.body.items).toEqual([]);
  });

  it('validates q and limit with the contract error shape', async () => {
    const u = await newUser('val');
    for (const query of [
      {},
      { q: '' },
      { q: '   ' },
      { q: 'x'.repeat(201) },
      { q: 'a', limit: '0' },
      { q: 'a', limit: '51' },
      { q: 'a', limit: 'ten' },
    ]) {
      for (const run of [searchUsersAs, searchMessagesAs]) {
        const res = await run(u.userId, query as Record<string, string>);
        expect(res.status, JSON.stringify(query)).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
        expect(typeof res.body.error.requestId).toBe('string');
      }
    }
    const badId = await searchMessagesAs(u.userId, { q: 'a', conversationId: 'bad id!' });
    expect(badId.status).toBe(400);
    const anonymous = await call(
      searchUsersHandler,
      httpEvent('GET /users', '/users', { query: { q: 'a' } }),
    );
    expect(anonymous.status).toBe(401);
  });

  it('GET /search/messages: members find, outsiders get nothing or 403, former members find nothing', async () => {
    const { users, owner, conversationId } = await group(3);
    const [, member, leaver] = users as [any, any, any];
    const outsider = await newUser('outsider');
    const word = `zebra${unique('').slice(-5)}`;
    const texts = [`the ${word} crossed the road`, `no match here`, `another ${word} sighting`];
    const items = texts.map((text, i) => ({
      ...message(conversationId, i + 1, 1, text),
      senderId: owner.userId,
    }));
    await indexer(streamEvent(...items.map((m) => msgUpsert(m))));
    await refresh();

    const found = await searchMessagesAs(member.userId, { q: word });
    expect(found.status).toBe(200);
    expect(found.body.items).toHaveLength(2);
    const hit = found.body.items.find((h: any) => h.message.seq === 1);
    expect(hit.message).toEqual({
      conversationId,
      seq: 1,
      messageId: items[0]!.messageId,
      senderId: owner.userId,
      clientMessageId: items[0]!.clientMessageId,
      text: texts[0],
      createdAt: items[0]!.createdAt,
      version: 1,
    });
    expect(hit.highlights.join(' ')).toContain(`<em>${word}</em>`);
    const scoped = await searchMessagesAs(member.userId, { q: word, conversationId, limit: '1' });
    expect(scoped.body.items).toHaveLength(1);

    const outside = await searchMessagesAs(outsider.userId, { q: word });
    expect(outside.status).toBe(200);
    expect(outside.body.items).toEqual([]);
    const forbidden = await searchMessagesAs(outsider.userId, { q: word, conversationId });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('not_a_member');

    expect((await searchMessagesAs(leaver.userId, { q: word })).body.items).toHaveLength(2);
    await removeMember(leaver.userId, conversationId, leaver.userId);
    expect((await searchMessagesAs(leaver.userId, { q: word })).body.items).toEqual([]);
    expect((await searchMessagesAs(leaver.userId, { q: word, conversationId })).status).toBe(403);
  });

  it('finds Chinese, Japanese, Korean and English text', async () => {
    const { owner, conversationId } = await group(2);
    const texts = [
      '你好世界，今天天气很好',
      '东京は今日も雨です。こんにちは、皆さん',
      '안녕하세요 여러분, 좋은 아침입니다',
      'Hello everyone, the weather is lovely',
      '我们明天去北京吃烤鸭',
    ];
    await indexer(streamEvent(...texts.map((text, i) => msgUpsert(message(conversationId, i + 1, 1, text)))));
    await refresh();
    const seqsFor = async (q: string) => {
      const res = await searchMessagesAs(owner.userId, { q, conversationId });
      expect(res.status, q).toBe(200);
      return res.body.items.map((h: any) => h.message.seq).sort();
    };
    expect(await seqsFor('你好')).toEqual([1]);
    expect(await seqsFor('天气')).toEqual([1]);
    expect(await seqsFor('北京')).toEqual([5]);
    expect(await seqsFor('京')).toEqual([2, 5]); // a single ideograph
    expect(await seqsFor('こんにちは')).toEqual([2]);
    expect(await seqsFor('東京')).toEqual([]);
    expect(await seqsFor('东京')).toEqual([2]);
    expect(await seqsFor('안녕하세요')).toEqual([3]);
    expect(await seqsFor('아침')).toEqual([3]);
    expect(await seqsFor('hello')).toEqual([4]);
    expect(await seqsFor('WEATHER lovely')).toEqual([4]);
    expect(await seqsFor('weather rainy')).toEqual([]);
    const res = await searchMessagesAs(owner.userId, { q: '你好', conversationId });
    expect(res.body.items[0].highlights[0]).toContain('<em>');
  });

  it('folds accents of Latin text both ways, in messages and display names, and CJK still matches', async () => {
    const { owner, conversationId } = await group(2);
    const texts = ['Un café crème à Paris', 'cafe au lait', 'Ærøskøbing naïve São Paulo', '北京的咖啡馆很好'];
    await indexer(streamEvent(...texts.map((text, i) => msgUpsert(message(conversationId, i + 1, 1, text)))));
    await refresh();
    const seqsFor = async (q: string) => {
      const res = await searchMessagesAs(owner.userId, { q, conversationId });
      expect(res.status, q).toBe(200);
      return res.body.items.map((h: any) => h.message.seq).sort();
    };
    expect(await seqsFor('cafe')).toEqual([1, 2]);
    expect(await seqsFor('café')).toEqual([1, 2]);
    expect(await seqsFor('CAFÉ creme')).toEqual([1]);
    expect(await seqsFor('a paris')).toEqual([1]);
    expect(await seqsFor('naive sao')).toEqual([3]);
    expect(await seqsFor('aeroskobing')).toEqual([3]);
    expect(await seqsFor('咖啡')).toEqual([4]);
    expect(await seqsFor('北京')).toEqual([4]);
    expect(await seqsFor('咖')).toEqual([4]);

    const user = await newUser('zoe');
    await doc.send(
      new UpdateCommand({
        TableName: tables().users,
        Key: { userId: user.userId },
        UpdateExpression: 'SET displayName = :n',
        ExpressionAttributeValues: { ':n': 'Zoë Ångström' },
      }),
    );
    const stored = await getUser(user.userId);
    await indexer(streamEvent(userUpsert(stored as UserItem)));
    await refresh();
    for (const q of ['zoe angstrom', 'Zoë', 'angst']) {
      const res = await searchUsersAs(owner.userId, { q });
      expect(res.status, q).toBe(200);
      expect(
        res.body.items.map((p: any) => p.userId),
        q,
      ).toContain(user.userId);
    }
  });
});

describe('index versions', () => {
  it('migrates an alias on an older physical index: documents and versions carried over, newer writes kept', async () => {
    const { migrateAlias, indexDefinitions } = await import('#shared/search/indices.js');
    const client = await search();
    const alias = unique('migrate').toLowerCase();
    const [older, target] = [`${alias}-v1`, `${alias}-v2`];
    // The version-1 mapping: the built-in analyzers, no folding.
    const v1 = structuredClone(indexDefinitions.messages) as any;
    v1.settings = { index: v1.settings.index };
    v1.mappings.properties.text = { type: 'text', analyzer: 'cjk', fields: { std: { type: 'text' } } };
    await client.indices.create({
      index: older,
      body: { ...v1, aliases: { [alias]: { is_write_index: true } } },
    });
    const doc = (seq: number, text: string) => ({ ...message('c_m', seq, 1, text) });
    for (const [seq, version, text] of [
      [1, 3, 'un café'],
      [2, 5, 'deux café noirs'],
    ] as const) {
      const { version: _v, ...source } = doc(seq, text);
      await client.index({ index: alias, id: `c_m#${seq}`, version, version_type: 'external', body: source });
    }
    await client.indices.refresh({ index: alias });
    // A newer write that reached the new index first (as after the swap) is not overwritten by the copy.
    await client.indices.create({ index: target, body: indexDefinitions.messages });
    const { version: _n, ...newer } = doc(1, 'un café plus récent');
    await client.index({ index: target, id: 'c_m#1', version: 9, version_type: 'external', body: newer });

    // Two processes migrate at once: both end on the new index with every document.
    const results = await Promise.all([
      migrateAlias(client, alias, target, indexDefinitions.messages),
      migrateAlias(client, alias, target, indexDefinitions.messages),
    ]);
    expect(results).toContain(true);
    const pointsAt = Object.keys((await client.indices.getAlias({ name: alias })).body);
    expect(pointsAt).toEqual([target]);
    expect((await client.indices.exists({ index: older })).body).toBe(false);
    const copied = await client.get({ index: alias, id: 'c_m#2' });
    expect(copied.body._version).toBe(5);
    const kept = await client.get({ index: alias, id: 'c_m#1' });
    expect(kept.body._version).toBe(9);
    expect((kept.body._source as any).text).toBe('un café plus récent');
    await client.indices.refresh({ index: alias });
    const found = await client.search({ index: alias, body: { query: { match: { text: 'cafe' } } } });
    expect(found.body.hits.hits.map((h: any) => h._id).sort()).toEqual(['c_m#1', 'c_m#2']);
    // Run again: nothing to do.
    expect(await migrateAlias(client, alias, target, indexDefinitions.messages)).toBe(false);
    await client.indices.delete({ index: target });
  });
});
