import { type SearchClient, searchClient } from '../adapters/opensearch.js';
import { type DocClient, ddb as defaultDdb } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from '../data/batch-get.js';
import { readCursor, saveCursor } from '../data/cursors-repo.js';
import { listMessagesInSeqRange } from '../data/messages-repo.js';
import { scanSegmentPage } from '../data/scan.js';
import { logger } from '../logger.js';
import { type ActionOutcome, applyActions } from './bulk.js';
import { absentVersion, actionForItem, itemVersionOf, keyOfDocId, type SearchAction } from './documents.js';
import { aliases, ensureIndices, type SearchIndex } from './indices.js';

export interface ReconcileOptions {
  readonly indices?: readonly SearchIndex[];
  /** Parallel scan segments of a table (DynamoDB's Segment/TotalSegments). */
  readonly segments?: number;
  /** Items per scan page and documents per index page. */
  readonly pageSize?: number;
  /** Stop starting new pages after this time (epoch ms); the report then says `complete: false`. */
  readonly deadline?: number;
  readonly client?: SearchClient;
  readonly ddb?: DocClient;
  readonly tables?: Config['tables'];
}

export interface ReconcileCounts {
  /** Table items compared with their document. */
  checkedItems: number;
  /** Index documents compared with their item. */
  checkedDocs: number;
  /** Item without a document. */
  missing: number;
  /** Document older than its item. */
  stale: number;
  /** Document whose item is gone. */
  orphaned: number;
  /** Document of a user who is not active. */
  inactive: number;
  /** Document newer than the item read (a live write landed meanwhile): left alone. */
  ahead: number;
  /** Documents (re)written. */
  indexed: number;
  /** Documents removed. */
  deleted: number;
  /** Missing documents restored over a stray tombstone (a delete made behind the indexer's back). */
  restored: number;
  /** Repairs a concurrent, newer write made unnecessary. */
  superseded: number;
  /** Repairs the index rejected, or items that cannot be indexed. */
  failed: number;
}

export interface ReconcileReport extends ReconcileCounts {
  /** Items and documents examined. */
  readonly checked: number;
  /** False when the deadline cut the run short. */
  readonly complete: boolean;
  readonly durationMs: number;
  readonly byIndex: Partial<Record<SearchIndex, ReconcileCounts>>;
  /** A few failure reasons. */
  readonly failures: string[];
}

const emptyCounts = (): ReconcileCounts => ({
  checkedItems: 0,
  checkedDocs: 0,
  missing: 0,
  stale: 0,
  orphaned: 0,
  inactive: 0,
  ahead: 0,
  indexed: 0,
  deleted: 0,
  restored: 0,
  superseded: 0,
  failed: 0,
});

/**
 * Where a sweep stands. A sweep runs, for each index in turn, a table phase (every item of the table,
 * in parallel scan segments, is compared with its document) and an index phase (every document, in
 * sort order, is looked up in its table). The cursor is small, plain data, saved after every page.
 */
export interface SweepCursor {
  /** Sweeps started so far (1 for the first). */
  sweep: number;
  /** When the current sweep started (epoch ms). */
  startedAt: number;
  /** Position in the plan: `2 * i` is the table phase of the i-th index, `2 * i + 1` its index phase. */
  step: number;
  /** Table phase: per segment, the key to resume after (`null` not started yet, `'done'` finished). */
  segments?: Array<Record<string, unknown> | null | 'done'>;
  /** Index phase: the sort values of the last document examined. */
  searchAfter?: Array<string | number>;
  /** Repairs that failed so far in this sweep, per index. */
  failed: Partial<Record<SearchIndex, number>>;
  /** The last sweep that finished each index: when that sweep started, and its failed repairs. */
  completed: Partial<Record<SearchIndex, { startedAt: number; failed: number }>>;
}

/** What the scheduled reconciler sweeps, in this order. */
export const SWEEP_INDICES: readonly SearchIndex[] = ['users', 'messages'];
/** The job name of the scheduled reconciler's cursor. */
export const SEARCH_RECONCILE_JOB = 'search-reconcile';
const DEFAULT_SEGMENTS = 4;
const DEFAULT_PAGE_SIZE = 500;

/** Sort of the index phase: unique per document, on keyword and numeric fields (no `_id` field data). */
const docSort: Record<SearchIndex, Array<Record<string, 'asc'>>> = {
  users: [{ userId: 'asc' }],
  messages: [{ conversationId: 'asc' }, { seq: 'asc' }],
};

function newSweep(previous: SweepCursor | undefined, segments: number): SweepCursor {
  return {
    sweep: (previous?.sweep ?? 0) + 1,
    startedAt: Date.now(),
    step: 0,
    segments: Array.from({ length: segments }, () => null),
    failed: {},
    completed: previous?.completed ?? {},
  };
}

interface Limits {
  /** Items and documents this run may still examine. */
  budget: number;
  readonly deadline?: number;
  readonly pageSize: number;
  readonly segments: number;
}

type Advance = 'done' | 'budget' | 'deadline' | 'lost';

/**
 * Moves a sweep forward page by page until it ends, the budget is spent, the deadline passed, or `save`
 * reports that another run took the cursor over. Every page's repairs are made before its position is
 * saved, so a run that dies redoes at most one page.
 */
async function advance(
  cursor: SweepCursor,
  indices: readonly SearchIndex[],
  limits: Limits,
  byIndex: Partial<Record<SearchIndex, ReconcileCounts>>,
  ctx: Ctx,
  save: () => Promise<boolean>,
): Promise<Advance> {
  while (cursor.step < 2 * indices.length) {
    const index = indices[Math.floor(cursor.step / 2)] as SearchIndex;
    byIndex[index] ??= emptyCounts();
    const counts = byIndex[index];
    if (limits.budget <= 0) return 'budget';
    if (limits.deadline !== undefined && Date.now() > limits.deadline) return 'deadline';
    const failedBefore = counts.failed;
    if (cursor.step % 2 === 0) {
      // One page of every unfinished segment, in parallel.
      cursor.segments ??= Array.from({ length: limits.segments }, () => null);
      const segments = cursor.segments;
      const open = segments.flatMap((s, i) => (s === 'done' ? [] : [i]));
      if (open.length === 0) {
        cursor.step++;
        cursor.segments = undefined;
        cursor.searchAfter = undefined;
        continue;
      }
      const pageSize = Math.max(1, Math.min(limits.pageSize, Math.ceil(limits.budget / open.length)));
      await Promise.all(
        open.map(async (segment) => {
          const start = segments[segment];
          // Eventually consistent (half the cost): an item read before a write is older than its
          // document and is left alone ("ahead"), and a new item reaches the index by the stream.
          const page = await scanSegmentPage(ctx.ddb, ctx.tables[index], {
            segment,
            totalSegments: segments.length,
            limit: pageSize,
            start: start && start !== 'done' ? start : undefined,
          });
          const items = page.items;
          limits.budget -= items.length;
          if (items.length) await checkItems(index, items, counts, ctx);
          segments[segment] = page.next ?? 'done';
        }),
      );
    } else {
      const res = await ctx.client.search({
        index: aliases[index],
        body: {
          size: Math.max(1, Math.min(limits.pageSize, limits.budget)),
          _source: false,
          version: true,
          sort: docSort[index],
          ...(cursor.searchAfter ? { search_after: cursor.searchAfter } : {}),
          query: { match_all: {} },
        },
      });
      const hits = (res.body.hits?.hits ?? []) as Array<{
        _id: string;
        _version?: number;
        sort?: Array<string | number>;
      }>;
      if (hits.length === 0) {
        cursor.completed[index] = { startedAt: cursor.startedAt, failed: cursor.failed[index] ?? 0 };
        cursor.step++;
        cursor.segments = undefined;
        cursor.searchAfter = undefined;
        continue;
      }
      limits.budget -= hits.length;
      await checkDocs(index, hits, counts, ctx);
      cursor.searchAfter = hits[hits.length - 1]?.sort;
    }
    cursor.failed[index] = (cursor.failed[index] ?? 0) + counts.failed - failedBefore;
    if (!(await save())) return 'lost';
  }
  return 'done';
}

function totals(
  byIndex: Partial<Record<SearchIndex, ReconcileCounts>>,
): ReconcileCounts & { checked: number } {
  const total = emptyCounts();
  for (const counts of Object.values(byIndex)) {
    for (const k of Object.keys(total) as Array<keyof ReconcileCounts>) total[k] += counts[k];
  }
  return { ...total, checked: total.checkedItems + total.checkedDocs };
}

/**
 * Compares the users and messages tables with their indices and repairs the differences in one go (an
 * operator's command; the scheduled reconciler uses `reconcileRun`), with the same external versions as
 * the indexer, so it never undoes a newer live write:
 *  1. table -> index: items are scanned (eventually consistent, in parallel segments) and their
 *     documents fetched in real time, a page at a time (mget); a missing or older document is indexed,
 *     the document of a user who is not active is deleted;
 *  2. index -> table: documents are read in pages and looked up in their table in batches (eventually
 *     consistent; an item that seems gone is read again strongly consistently before its document is
 *     deleted above its own version).
 * Pass 2 also removes documents a late stale write resurrected after their tombstone was lost (node
 * restart, shard relocation), which `gc_deletes` alone cannot prevent.
 */
export async function reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const started = performance.now();
  const ctx = context(options);
  const indices = options.indices ?? SWEEP_INDICES;
  await ensureIndices(ctx.client);
  const segments = options.segments ?? DEFAULT_SEGMENTS;
  const cursor = newSweep(undefined, segments);
  const byIndex: Partial<Record<SearchIndex, ReconcileCounts>> = {};
  for (const index of indices) byIndex[index] = emptyCounts();
  const limits = {
    budget: Number.POSITIVE_INFINITY,
    deadline: options.deadline,
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    segments,
  };
  const outcome = await advance(cursor, indices, limits, byIndex, ctx, async () => true);
  return {
    ...totals(byIndex),
    complete: outcome === 'done',
    durationMs: performance.now() - started,
    byIndex,
    failures: ctx.failures,
  };
}

export interface ReconcileRunOptions extends Omit<ReconcileOptions, 'indices'> {
  /** Items and documents one run may examine (pages are cut to fit). */
  readonly budget?: number;
  /**
   * Per index, a time (epoch ms) a finished sweep must have started after (dead letters waiting since
   * then): when the sweep this run finishes started earlier, the run goes on with the next one.
   */
  readonly coverSince?: Partial<Record<SearchIndex, number>>;
}

export interface ReconcileRunReport extends ReconcileReport {
  /** The sweep the run ended in, and its position (`users:table`, `messages:index`, ...). */
  readonly sweep: number;
  readonly position: string;
  /** Sweeps this run brought to their end. */
  readonly sweepsCompleted: number;
  /** Why the run stopped. */
  readonly stoppedBy: 'sweep-end' | 'budget' | 'deadline' | 'lost-cursor';
  /** The last finished sweep of each index (start time and failed repairs). */
  readonly completed: SweepCursor['completed'];
}

/** Items and documents a scheduled run examines by default (see docs/operations for the arithmetic). */
export const DEFAULT_RUN_BUDGET = 20_000;

/**
 * One bounded run of the scheduled reconciler: resumes the sweep where the last run stopped (the cursor
 * lives in the cursors table), examines at most `budget` items and documents, saves its position after
 * every page, and stops at the end of a sweep; the next run starts the next sweep. Successive runs
 * therefore cover both tables and both indices in `ceil((items + documents) / budget)` runs, and no run
 * reads a whole table. Overlapping runs cannot both advance: the cursor is saved conditionally on its
 * revision, and the run that loses stops.
 */
export async function reconcileRun(options: ReconcileRunOptions = {}): Promise<ReconcileRunReport> {
  const started = performance.now();
  const ctx = context(options);
  await ensureIndices(ctx.client);
  const segments = options.segments ?? DEFAULT_SEGMENTS;
  const deps = { client: ctx.ddb, tables: ctx.tables };
  const stored = await readCursor<SweepCursor>(SEARCH_RECONCILE_JOB, deps);
  let revision = stored.revision;
  let cursor = stored.state ?? newSweep(undefined, segments);
  const save = async () => {
    const next = await saveCursor(SEARCH_RECONCILE_JOB, cursor, revision, deps);
    if (next === undefined) return false;
    revision = next;
    return true;
  };
  const byIndex: Partial<Record<SearchIndex, ReconcileCounts>> = {};
  const limits = {
    budget: options.budget ?? DEFAULT_RUN_BUDGET,
    deadline: options.deadline,
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    segments,
  };
  let sweepsCompleted = 0;
  let stoppedBy: ReconcileRunReport['stoppedBy'];
  for (;;) {
    const outcome = await advance(cursor, SWEEP_INDICES, limits, byIndex, ctx, save);
    if (outcome !== 'done') {
      stoppedBy = outcome === 'lost' ? 'lost-cursor' : outcome;
      break;
    }
    sweepsCompleted++;
    const finished = cursor;
    cursor = newSweep(finished, segments);
    if (!(await save())) {
      stoppedBy = 'lost-cursor';
      break;
    }
    const uncovered = Object.entries(options.coverSince ?? {}).some(
      ([index, since]) => (finished.completed[index as SearchIndex]?.startedAt ?? 0) < (since ?? 0),
    );
    if (!uncovered) {
      stoppedBy = 'sweep-end';
      break;
    }
  }
  const step = cursor.step;
  return {
    ...totals(byIndex),
    complete: sweepsCompleted > 0,
    durationMs: performance.now() - started,
    byIndex,
    failures: ctx.failures,
    sweep: cursor.sweep,
    position: `${SWEEP_INDICES[Math.floor(step / 2)] ?? 'end'}:${step % 2 === 0 ? 'table' : 'index'}`,
    sweepsCompleted,
    stoppedBy,
    completed: cursor.completed,
  };
}

interface Ctx {
  client: SearchClient;
  ddb: DocClient;
  tables: Config['tables'];
  failures: string[];
}

function context(options: ReconcileOptions): Ctx {
  return {
    client: options.client ?? searchClient(),
    ddb: options.ddb ?? defaultDdb,
    tables: options.tables ?? config().tables,
    failures: [],
  };
}

/** Table -> index for one page of items: one mget for their documents, then the repairs. */
async function checkItems(
  index: SearchIndex,
  items: Record<string, unknown>[],
  counts: ReconcileCounts,
  ctx: Ctx,
): Promise<void> {
  counts.checkedItems += items.length;
  const wanted: SearchAction[] = [];
  for (const item of items) {
    try {
      wanted.push(actionForItem(index, item));
    } catch (err) {
      counts.failed++;
      note(ctx, `${index}: ${(err as Error).message}`);
    }
  }
  if (wanted.length === 0) return;
  const res = await ctx.client.mget({
    index: aliases[index],
    body: { ids: wanted.map((a) => a.id) },
    _source: false,
  });
  const docs = res.body.docs as Array<{ found?: boolean; _version?: number }>;
  const repairs: SearchAction[] = [];
  wanted.forEach((action, i) => {
    const doc = docs[i];
    const found = doc?.found === true;
    const version = doc?._version ?? 0;
    if (action.op === 'index') {
      if (!found) counts.missing++;
      else if (version < action.version) counts.stale++;
      else {
        // `+ 1`: a document restored over a tombstone (see restoreOverTombstones) is current.
        if (version > action.version + 1) counts.ahead++;
        return;
      }
      repairs.push(action);
    } else if (found) {
      if (version > action.version) {
        counts.ahead++;
        return;
      }
      counts.inactive++;
      repairs.push(action);
    }
  });
  const outcomes = await repair(repairs, counts, ctx);
  // A missing document whose repair lost to a version conflict: a tombstone is in the way.
  const blocked = repairs.filter((a, i) => a.op === 'index' && outcomes[i]?.status === 'superseded');
  if (blocked.length) await restoreOverTombstones(index, blocked, counts, ctx);
}

/**
 * A document deleted behind the indexer's back (a manual delete) leaves a tombstone one above the
 * document's version, i.e. "absent at v", which rejects the rebuilt document until `gc_deletes` passes.
 * When the document is still absent (real-time get) and the item, re-read strongly consistently, still
 * wants exactly that document, the table is the truth: the document is restored at `2v + 1` with
 * `external_gte`. The next version's document (`2v + 2`) still supersedes it, and a removal at v
 * (`2v + 1`, deletes use `external_gte`) still deletes it; a tombstone above `2v + 1` (a real removal of
 * a newer state) still wins.
 */
async function restoreOverTombstones(
  index: SearchIndex,
  blocked: SearchAction[],
  counts: ReconcileCounts,
  ctx: Ctx,
): Promise<void> {
  const res = await ctx.client.mget({
    index: aliases[index],
    body: { ids: blocked.map((a) => a.id) },
    _source: false,
  });
  const absent = new Set(
    (res.body.docs as Array<{ _id: string; found?: boolean }>)
      .filter((d) => d.found !== true)
      .map((d) => d._id),
  );
  const candidates = blocked.filter((a) => absent.has(a.id));
  if (candidates.length === 0) return;
  const keys = candidates.flatMap((a) => {
    const key = keyOfDocId(index, a.id);
    return key ? [key] : [];
  });
  const items = await batchGetAll<Record<string, unknown>>(ctx.ddb, ctx.tables[index], keys);
  const restores: SearchAction[] = [];
  for (const item of items) {
    const now = actionForItem(index, item);
    const before = candidates.find((a) => a.id === now.id);
    if (now.op !== 'index' || !before || before.version !== now.version) continue;
    restores.push({ ...now, version: now.version + 1, versionType: 'external_gte' });
  }
  if (restores.length === 0) return;
  const outcomes = await applyActions(restores, ctx.client);
  outcomes.forEach((o, i) => {
    if (o.status === 'applied') {
      counts.restored++;
      counts.superseded--;
      counts.indexed++;
    } else if (o.status === 'failed') {
      counts.failed++;
      note(ctx, `${index}/${restores[i]?.id}: restore: ${o.type}: ${o.reason}`);
    }
  });
}

/**
 * Index -> table for one page of documents: their items in batches of 100 (eventually consistent); the
 * few that seem gone are read again strongly consistently, so that a document is deleted only when its
 * item is really absent.
 */
async function checkDocs(
  index: SearchIndex,
  hits: Array<{ _id: string; _version?: number }>,
  counts: ReconcileCounts,
  ctx: Ctx,
): Promise<void> {
  counts.checkedDocs += hits.length;
  const keyed = hits.map((hit) => ({ hit, key: keyOfDocId(index, hit._id) }));
  const keys = keyed.flatMap((k) => (k.key ? [k.key] : []));
  const items =
    index === 'messages'
      ? await messagesInRanges(keys, ctx)
      : await batchGetAll<Record<string, unknown>>(ctx.ddb, ctx.tables[index], keys, { consistent: false });
  const found = new Map(items.map((item) => [docKey(index, item), item]));
  const unseen = keyed.flatMap((k) => (k.key && !found.has(docKey(index, k.key)) ? [k.key] : []));
  if (unseen.length) {
    for (const item of await batchGetAll<Record<string, unknown>>(ctx.ddb, ctx.tables[index], unseen)) {
      found.set(docKey(index, item), item);
    }
  }
  const repairs: SearchAction[] = [];
  for (const { hit, key } of keyed) {
    const item = key ? found.get(docKey(index, key)) : undefined;
    const docVersion = hit._version ?? 0;
    if (!item) {
      counts.orphaned++;
      repairs.push({ op: 'delete', index, id: hit._id, version: absentVersion(itemVersionOf(docVersion)) });
    } else if (index === 'users' && item.status !== 'active' && typeof item.version === 'number') {
      const version = absentVersion(item.version);
      if (version <= docVersion) continue;
      counts.inactive++;
      repairs.push({ op: 'delete', index, id: hit._id, version });
    }
  }
  await repair(repairs, counts, ctx);
}

/**
 * The messages of a page of documents, read by range: documents come sorted by conversation and seq, so
 * one eventually consistent Query per conversation (seq between the page's first and last) returns them
 * all. A Query is charged by the size it reads (4 KB per half unit), where BatchGetItem charges each
 * item at least a half unit: for small messages this is about ten times cheaper.
 */
async function messagesInRanges(
  keys: Record<string, unknown>[],
  ctx: Ctx,
): Promise<Record<string, unknown>[]> {
  const ranges = new Map<string, { lo: number; hi: number }>();
  for (const key of keys) {
    const conversationId = String(key.conversationId);
    const seq = Number(key.seq);
    const range = ranges.get(conversationId);
    if (!range) ranges.set(conversationId, { lo: seq, hi: seq });
    else {
      range.lo = Math.min(range.lo, seq);
      range.hi = Math.max(range.hi, seq);
    }
  }
  const pages = await Promise.all(
    [...ranges].map(([conversationId, { lo, hi }]) =>
      listMessagesInSeqRange(
        conversationId,
        lo,
        hi,
        { consistent: false },
        { client: ctx.ddb, tables: ctx.tables },
      ),
    ),
  );
  return pages.flat();
}

const docKey = (index: SearchIndex, item: Record<string, unknown>) =>
  index === 'users' ? String(item.userId) : `${String(item.conversationId)}#${String(item.seq)}`;

async function repair(actions: SearchAction[], counts: ReconcileCounts, ctx: Ctx): Promise<ActionOutcome[]> {
  if (actions.length === 0) return [];
  const outcomes = await applyActions(actions, ctx.client);
  outcomes.forEach((o, i) => {
    const action = actions[i] as SearchAction;
    if (o.status === 'superseded') counts.superseded++;
    else if (o.status === 'failed') {
      counts.failed++;
      note(ctx, `${action.index}/${action.id}: ${o.type}: ${o.reason}`);
    } else if (action.op === 'index') counts.indexed++;
    else counts.deleted++;
  });
  return outcomes;
}

function note(ctx: Ctx, failure: string) {
  if (ctx.failures.length < 20) ctx.failures.push(failure);
  logger.warn('reconcile failure', { failure });
}
