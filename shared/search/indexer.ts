import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { SearchClient } from '../adapters/opensearch.js';
import { type Config, config } from '../config/env.js';
import { logger } from '../logger.js';
import { emitMetrics } from '../metrics.js';
import { applyActions } from './bulk.js';
import { actionForItem, actionForRemoval, type SearchAction } from './documents.js';
import type { SearchIndex } from './indices.js';

/**
 * A stream record as far as indexing goes: Lambda's event record, or a record of the DynamoDB Streams
 * API (DLQ replay) — images in DynamoDB JSON either way.
 */
export interface SourceRecord {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly Keys?: Record<string, unknown>;
    readonly NewImage?: Record<string, unknown>;
    readonly OldImage?: Record<string, unknown>;
    readonly SequenceNumber?: string;
  };
}

/** `arn:aws:dynamodb:<region>:<account>:table/<TableName>/stream/<label>` -> `<TableName>`. */
export function tableNameOfArn(arn: string | undefined): string | undefined {
  return arn ? /:table\/([^/]+)(?:\/|$)/.exec(arn)?.[1] : undefined;
}

/** Which index a table feeds, by its configured name; undefined for any other table. */
export function indexOfTable(
  tableName: string | undefined,
  tables: Config['tables'],
): SearchIndex | undefined {
  if (!tableName) return undefined;
  if (tableName === tables.users) return 'users';
  if (tableName === tables.messages) return 'messages';
  return undefined;
}

const image = (value: Record<string, unknown> | undefined) =>
  value ? unmarshall(value as Record<string, AttributeValue>) : undefined;

/**
 * The index operation a stream record asks for: INSERT/MODIFY index the new image (or remove it, for a
 * user that is not active), REMOVE deletes above the old image's version. Throws UnindexableItemError
 * (or an unmarshalling error) for a record it cannot map.
 */
export function actionForRecord(index: SearchIndex, record: SourceRecord): SearchAction {
  const d = record.dynamodb ?? {};
  if (record.eventName === 'REMOVE') {
    const old = image(d.OldImage);
    if (!old) throw new Error('REMOVE record without an old image (stream view must be NEW_AND_OLD_IMAGES)');
    return actionForRemoval(index, old);
  }
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') {
    throw new Error(`unknown eventName ${String(record.eventName)}`);
  }
  const item = image(d.NewImage);
  if (!item) throw new Error(`${record.eventName} record without a new image`);
  return actionForItem(index, item);
}

export interface IndexerDeps {
  client?: SearchClient;
  tables?: Config['tables'];
  /**
   * Time left in the invocation (Lambda's `getRemainingTimeInMillis`). With it, an unreachable domain is
   * retried inside the invocation (backoff up to 10 s) while more than `KEEP_FOR_RETURN_MS` is left,
   * so that with the mapping's retries an outage of many minutes leaves nothing unindexed.
   */
  remainingMs?: () => number;
}

/** Time kept back to throw before Lambda's timeout, so that the mapping's own retry takes over. */
const KEEP_FOR_RETURN_MS = 20_000;

/** Applies actions, waiting out an unreachable domain while the invocation has time. */
async function applyPatiently(actions: readonly SearchAction[], deps: IndexerDeps) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await applyActions(actions, deps.client);
    } catch (err) {
      const wait = Math.min(10_000, 500 * 2 ** attempt);
      const left = deps.remainingMs?.() ?? 0;
      if (left - wait < KEEP_FOR_RETURN_MS) throw err;
      logger.warn('search domain unreachable; retrying in the invocation', {
        attempt,
        waitMs: wait,
        error: err as Error,
      });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

interface IndexedRecords {
  /** Sequence numbers of records to report as batch item failures, in batch order. */
  readonly failed: string[];
  readonly applied: number;
  readonly superseded: number;
}

/**
 * Maps records to index operations and applies them in one bulk request. Records that cannot be mapped
 * or whose bulk item failed (other than a version conflict, which means the index is already newer)
 * are returned as failed; throws when the domain cannot be reached at all.
 */
async function indexMixed(
  records: ReadonlyArray<{ index: SearchIndex; record: SourceRecord }>,
  deps: IndexerDeps,
): Promise<IndexedRecords> {
  // Record positions of failures, reported in batch order (Lambda resumes from the lowest).
  const failed: number[] = [];
  const planned: Array<{ at: number; seq: string; action: SearchAction }> = [];
  records.forEach(({ index, record }, at) => {
    const seq = record.dynamodb?.SequenceNumber ?? '';
    try {
      planned.push({ at, seq, action: actionForRecord(index, record) });
    } catch (err) {
      logger.error('stream record cannot be indexed', { index, sequenceNumber: seq, error: err as Error });
      failed.push(at);
    }
  });
  const outcomes = await applyPatiently(
    planned.map((p) => p.action),
    deps,
  );
  let applied = 0;
  let superseded = 0;
  outcomes.forEach((outcome, i) => {
    const { at, seq, action } = planned[i] as (typeof planned)[number];
    if (outcome.status === 'applied') applied++;
    else if (outcome.status === 'superseded') superseded++;
    else {
      logger.error('bulk item failed', {
        index: action.index,
        id: action.id,
        sequenceNumber: seq,
        ...outcome,
      });
      failed.push(at);
    }
  });
  const sequenceNumbers = failed
    .sort((a, b) => a - b)
    .map((at) => records[at]?.record.dynamodb?.SequenceNumber ?? '');
  return { failed: sequenceNumbers, applied, superseded };
}

/**
 * The indexer's use case: one DynamoDB Streams batch (users and/or messages table, told apart by the
 * table name in `eventSourceARN`) -> one bulk request. Returns the partial batch response of
 * ReportBatchItemFailures; throws when OpenSearch cannot be reached, so the event source mapping
 * retries (and bisects) the batch.
 */
export async function indexStreamEvent(
  event: DynamoDBStreamEvent,
  deps: IndexerDeps = {},
): Promise<DynamoDBBatchResponse> {
  const tables = deps.tables ?? config().tables;
  const records: Array<{ index: SearchIndex; record: SourceRecord }> = [];
  for (const record of event.Records ?? []) {
    const index = indexOfTable(tableNameOfArn(record.eventSourceARN), tables);
    if (!index) {
      // A mapping on a table the index does not follow: a wiring mistake, not a reason to block the shard.
      logger.error('stream record of a table that is not indexed; skipped', {
        eventSourceARN: record.eventSourceARN,
      });
      continue;
    }
    records.push({ index, record: record as DynamoDBRecord as SourceRecord });
  }
  const result = await indexMixed(records, deps);
  // Lag of the oldest change in the batch: how far the index trails the tables.
  const times = (event.Records ?? [])
    .map((r) => Number(r.dynamodb?.ApproximateCreationDateTime))
    .filter(Number.isFinite);
  const oldest = Math.min(...times);
  emitMetrics({
    DocumentsIndexed: result.applied,
    IndexLag: times.length ? Math.max(0, Date.now() - oldest * 1000) : undefined,
  });
  if (result.failed.length) {
    logger.warn('batch item failures', { failed: result.failed.length, of: event.Records.length });
  }
  return { batchItemFailures: result.failed.map((itemIdentifier) => ({ itemIdentifier })) };
}
