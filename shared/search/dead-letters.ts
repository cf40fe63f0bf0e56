import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type SearchClient, searchClient } from '../adapters/opensearch.js';
import { type DocClient, ddb as defaultDdb } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from '../data/batch-get.js';
import { isTransientDependencyError } from '../errors.js';
import { logger } from '../logger.js';
import { applyActions } from './bulk.js';
import { absentVersion, actionForItem, docIdOf, type SearchAction } from './documents.js';
import { indexOfTable, tableNameOfArn } from './indexer.js';
import type { SearchIndex } from './indices.js';
import { type ReconcileReport, reconcile } from './reconcile.js';

/** `DDBStreamBatchInfo` of Lambda's on-failure record for a DynamoDB stream batch. */
export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  streamArn: string;
  batchSize: number;
}

/** Parses a dead-letter message body; undefined when it is not a stream on-failure record. */
export function parseOnFailureRecord(
  body: string | undefined,
): { condition?: string; batch: StreamBatchInfo } | undefined {
  try {
    const parsed = JSON.parse(body ?? '') as {
      requestContext?: { condition?: string };
      DDBStreamBatchInfo?: Partial<StreamBatchInfo>;
    };
    const b = parsed.DDBStreamBatchInfo;
    if (!b?.shardId || !b.startSequenceNumber || !b.endSequenceNumber || !b.streamArn) return undefined;
    return {
      condition: parsed.requestContext?.condition,
      batch: {
        shardId: b.shardId,
        startSequenceNumber: b.startSequenceNumber,
        endSequenceNumber: b.endSequenceNumber,
        streamArn: b.streamArn,
        batchSize: Number(b.batchSize ?? 0),
      },
    };
  } catch {
    return undefined;
  }
}

const GONE = new Set([
  'TrimmedDataAccessException',
  'ResourceNotFoundException',
  'ExpiredIteratorException',
  'ValidationException',
]);

/**
 * The stream records a failed batch covered, re-read from the stream (AT_SEQUENCE_NUMBER the batch's
 * first record, up to its last); undefined when they are no longer all there (trimmed after 24 h,
 * stream or shard gone).
 */
export async function readStreamBatch(
  streams: DynamoDBStreamsClient,
  batch: StreamBatchInfo,
): Promise<StreamRecord[] | undefined> {
  let iterator: string | undefined;
  try {
    const res = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: batch.streamArn,
        ShardId: batch.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: batch.startSequenceNumber,
      }),
    );
    iterator = res.ShardIterator;
  } catch (err) {
    if (GONE.has((err as Error).name)) return undefined;
    throw err;
  }
  const start = BigInt(batch.startSequenceNumber);
  const end = BigInt(batch.endSequenceNumber);
  const records: StreamRecord[] = [];
  // An open shard can answer empty pages before the records; bounded so a bad message cannot spin.
  for (let calls = 0; iterator && calls < 100; calls++) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const record of page.Records ?? []) {
      const seq = BigInt(record.dynamodb?.SequenceNumber ?? '0');
      if (seq > end) return complete(records, start, end);
      records.push(record);
      if (seq === end) return complete(records, start, end);
    }
    iterator = page.NextShardIterator;
  }
  return complete(records, start, end);
}

function complete(records: StreamRecord[], start: bigint, end: bigint): StreamRecord[] | undefined {
  const first = records[0]?.dynamodb?.SequenceNumber;
  const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
  if (first === undefined || last === undefined) return undefined;
  return BigInt(first) === start && BigInt(last) === end ? records : undefined;
}

export interface ReplayOptions {
  readonly queueUrl?: string;
  /** Stop after this many queue messages (all by default). */
  readonly maxMessages?: number;
  readonly sqs?: SQSClient;
  readonly streams?: DynamoDBStreamsClient;
  readonly client?: SearchClient;
  readonly ddb?: DocClient;
  readonly tables?: Config['tables'];
  readonly log?: (line: string) => void;
}

export interface ReplayReport {
  /** Queue messages received. */
  received: number;
  /** Handled and deleted from the queue. */
  deleted: number;
  /** Left in the queue (unrecognized, or their items still fail); they come back after the visibility timeout. */
  kept: number;
  /** Stream records re-read. */
  records: number;
  /** Documents written or removed from the items' current state. */
  applied: number;
  /** Already current in the index. */
  superseded: number;
  failed: number;
  /** Indices reconciled in full because a batch was no longer in the stream. */
  reconciled: SearchIndex[];
  reconcileReports: Partial<Record<SearchIndex, ReconcileReport>>;
}

/**
 * Drains the indexer's dead-letter queue. For each on-failure record: re-read the batch's records from
 * the stream and bring their documents to the items' CURRENT state (strongly consistent reads; an item
 * gone is deleted above the highest version the records show), which is what the records would
 * converge to and cannot resurrect anything even where a tombstone was lost. If the records are no
 * longer in the stream, the whole index of that table is reconciled instead (once per run). A message
 * is deleted only after its batch was handled without failures.
 */
export async function replayDeadLetters(options: ReplayOptions = {}): Promise<ReplayReport> {
  const queueUrl = options.queueUrl ?? config().searchDeadLetterQueueUrl;
  const sqs = options.sqs ?? new SQSClient({});
  const streams = options.streams ?? new DynamoDBStreamsClient({});
  const client = options.client ?? searchClient();
  const ddb = options.ddb ?? defaultDdb;
  const tables = options.tables ?? config().tables;
  const log = options.log ?? (() => undefined);
  const report: ReplayReport = {
    received: 0,
    deleted: 0,
    kept: 0,
    records: 0,
    applied: 0,
    superseded: 0,
    failed: 0,
    reconciled: [],
    reconcileReports: {},
  };
  const max = options.maxMessages ?? Number.POSITIVE_INFINITY;
  // Messages kept are invisible for the visibility timeout, so a run never sees one twice.
  while (report.received < max) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - report.received),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 300,
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      report.received++;
      const handled = await replayOne(message, { streams, client, ddb, tables, log, report });
      if (handled) {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        report.deleted++;
      } else {
        report.kept++;
      }
    }
  }
  return report;
}

interface ReplayCtx {
  streams: DynamoDBStreamsClient;
  client: SearchClient;
  ddb: DocClient;
  tables: Config['tables'];
  log: (line: string) => void;
  report: ReplayReport;
}

async function replayOne(message: Message, ctx: ReplayCtx): Promise<boolean> {
  const parsed = parseOnFailureRecord(message.Body);
  const index = indexOfTable(tableNameOfArn(parsed?.batch.streamArn), ctx.tables);
  if (!parsed || !index) {
    ctx.log(`message ${message.MessageId}: not an on-failure record of the users or messages stream; kept`);
    return false;
  }
  const { batch } = parsed;
  const label = `message ${message.MessageId} (${index}, ${parsed.condition ?? 'failure'}, ${batch.batchSize} records from ${batch.startSequenceNumber})`;
  const records = await readStreamBatch(ctx.streams, batch);
  if (!records) {
    ctx.log(`${label}: no longer in the stream; reconciling ${index}`);
    return reconcileOnce(index, ctx);
  }
  ctx.report.records += records.length;
  const actions = await currentState(index, records, ctx);
  if (!actions) {
    ctx.log(`${label}: a removed item's version is unknown; reconciling ${index}`);
    return reconcileOnce(index, ctx);
  }
  const outcomes = await applyActions(actions, ctx.client);
  let failed = 0;
  outcomes.forEach((o, i) => {
    if (o.status === 'applied') ctx.report.applied++;
    else if (o.status === 'superseded') ctx.report.superseded++;
    else {
      failed++;
      ctx.log(`  ${actions[i]?.index}/${actions[i]?.id}: ${o.type}: ${o.reason}`);
    }
  });
  ctx.report.failed += failed;
  ctx.log(
    `${label}: ${records.length} records, ${actions.length} documents, ${failed ? `${failed} failed; kept` : 'done'}`,
  );
  return failed === 0;
}

/** The actions that bring the records' documents to their items' current state; undefined if not knowable. */
async function currentState(
  index: SearchIndex,
  records: readonly StreamRecord[],
  ctx: ReplayCtx,
): Promise<SearchAction[] | undefined> {
  const seen = new Map<string, { key: Record<string, unknown>; version: number }>();
  for (const record of records) {
    const d = record.dynamodb ?? {};
    const key = unmarshall((d.Keys ?? {}) as Record<string, AttributeValue>);
    const id = docIdOf(index, key);
    let version = seen.get(id)?.version ?? -1;
    for (const image of [d.NewImage, d.OldImage]) {
      const v = image ? unmarshall(image as Record<string, AttributeValue>).version : undefined;
      if (typeof v === 'number' && v > version) version = v;
    }
    seen.set(id, { key, version });
  }
  const items = await batchGetAll<Record<string, unknown>>(
    ctx.ddb,
    ctx.tables[index],
    [...seen.values()].map((s) => s.key),
  );
  const current = new Map(items.map((item) => [docIdOf(index, item), item]));
  const actions: SearchAction[] = [];
  for (const [id, { version }] of seen) {
    const item = current.get(id);
    if (item) actions.push(actionForItem(index, item));
    else if (version >= 0) actions.push({ op: 'delete', index, id, version: absentVersion(version) });
    else return undefined;
  }
  return actions;
}

async function reconcileOnce(index: SearchIndex, ctx: ReplayCtx): Promise<boolean> {
  let report = ctx.report.reconcileReports[index];
  if (!report) {
    report = await reconcile({ indices: [index], client: ctx.client, ddb: ctx.ddb, tables: ctx.tables });
    ctx.report.reconcileReports[index] = report;
    ctx.report.reconciled.push(index);
    ctx.log(
      `reconciled ${index}: ${report.checked} checked, ${report.indexed} indexed, ${report.deleted} deleted, ${report.failed} failed`,
    );
  }
  return report.complete && report.failed === 0;
}

// ---------------------------------------------------------------------------------------------------
// For the scheduled reconciler: a sweep of an index that starts after a failure repairs whatever that
// failure left behind, so a dead letter can be acknowledged once such a sweep finished without failures.

export interface HeldMessage {
  readonly receiptHandle: string;
  readonly index: SearchIndex | undefined;
  /** When SQS received the dead letter (epoch ms). */
  readonly sentAt: number;
}

export interface HeldMessages {
  readonly queueUrl: string;
  readonly messages: ReadonlyArray<HeldMessage>;
}

/** Per index, the earliest held dead letter: a finished sweep must have started after it. */
export function earliestHeld(held: HeldMessages): Partial<Record<SearchIndex, number>> {
  const out: Partial<Record<SearchIndex, number>> = {};
  for (const m of held.messages) {
    if (m.index) out[m.index] = Math.min(out[m.index] ?? Number.POSITIVE_INFINITY, m.sentAt);
  }
  return out;
}

/** Receives (and hides for `visibilitySeconds`) up to `max` dead letters waiting now. */
export async function holdDeadLetters(
  visibilitySeconds: number,
  options: { queueUrl?: string; sqs?: SQSClient; tables?: Config['tables']; max?: number } = {},
): Promise<HeldMessages> {
  const queueUrl = options.queueUrl ?? config().searchDeadLetterQueueUrl;
  const sqs = options.sqs ?? new SQSClient({});
  const tables = options.tables ?? config().tables;
  const held: HeldMessage[] = [];
  const max = options.max ?? 100;
  while (held.length < max) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - held.length),
        WaitTimeSeconds: 0,
        VisibilityTimeout: Math.max(1, Math.min(43_200, Math.ceil(visibilitySeconds))),
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    if (!res.Messages?.length) break;
    for (const m of res.Messages) {
      if (!m.ReceiptHandle) continue;
      const parsed = parseOnFailureRecord(m.Body);
      held.push({
        receiptHandle: m.ReceiptHandle,
        index: indexOfTable(tableNameOfArn(parsed?.batch.streamArn), tables),
        // Unknown: now, so that only a sweep starting later covers it.
        sentAt: Number(m.Attributes?.SentTimestamp ?? Date.now()),
      });
    }
  }
  return { queueUrl, messages: held };
}

/**
 * Deletes the held messages whose index a sweep that started after them finished without failures
 * (`completed`, from the reconciler's cursor); the others are made visible again at once. Returns how
 * many were deleted.
 */
export async function settleDeadLetters(
  held: HeldMessages,
  completed: Partial<Record<SearchIndex, { startedAt: number; failed: number }>>,
  options: { sqs?: SQSClient } = {},
): Promise<number> {
  const sqs = options.sqs ?? new SQSClient({});
  let deleted = 0;
  for (const m of held.messages) {
    const sweep = m.index ? completed[m.index] : undefined;
    const repaired = sweep !== undefined && sweep.startedAt >= m.sentAt && sweep.failed === 0;
    try {
      if (repaired) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: held.queueUrl, ReceiptHandle: m.receiptHandle }));
        deleted++;
      } else {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: held.queueUrl,
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    } catch (err) {
      // Left as it is, the message simply becomes visible again later.
      if (!isTransientDependencyError(err)) logger.warn('dead letter not settled', { error: err as Error });
    }
  }
  return deleted;
}
