import { type DocClient, ddb as defaultDdb } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { batchGetAll } from '../data/batch-get.js';
import { logger } from '../logger.js';
import { type ActionOutcome, applyActions } from './bulk.js';
import { type SearchClient, searchClient } from './client.js';
import { absentVersion, actionForItem, itemVersionOf, keyOfDocId, type SearchAction } from './documents.js';
import { aliases, ensureIndices, type SearchIndex } from './indices.js';
import { scanPages } from './table-scan.js';

export interface ReconcileOptions {
  readonly indices?: readonly SearchIndex[];
  readonly segments?: number;
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
 * Compares the users and messages tables with their indices and repairs the differences, with the
 * same external versions as the indexer (so it never undoes a newer live write):
 *  1. table -> index: each item's document is fetched in real time (mget); a missing or older document is
 *     indexed, the document of a user who is not active is deleted;
 *  2. index -> table: every document is looked up in its table (strongly consistent); one whose item is
 *     gone (or whose user is not active) is deleted above its own version.
 * Pass 2 also removes documents a late stale write resurrected after their tombstone was lost (node
 * restart, shard relocation), which `gc_deletes` alone cannot prevent.
 */
export async function reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const started = performance.now();
  const client = options.client ?? searchClient();
  const ddb = options.ddb ?? defaultDdb;
  const tables = options.tables ?? config().tables;
  const indices = options.indices ?? (['users', 'messages'] as const);
  await ensureIndices(client);
  const failures: string[] = [];
  const byIndex: Partial<Record<SearchIndex, ReconcileCounts>> = {};
  let complete = true;
  const ctx = { client, ddb, tables, failures, options };
  for (const index of indices) {
    const counts = emptyCounts();
    byIndex[index] = counts;
    complete = (await tableToIndex(index, counts, ctx)) && complete;
    complete = (await indexToTable(index, counts, ctx)) && complete;
  }
  const total = emptyCounts();
  for (const counts of Object.values(byIndex)) {
    for (const k of Object.keys(total) as Array<keyof ReconcileCounts>) total[k] += counts[k];
  }
  return {
    ...total,
    checked: total.checkedItems + total.checkedDocs,
    complete,
    durationMs: performance.now() - started,
    byIndex,
    failures,
  };
}

interface Ctx {
  client: SearchClient;
  ddb: DocClient;
  tables: Config['tables'];
  failures: string[];
  options: ReconcileOptions;
}

async function tableToIndex(index: SearchIndex, counts: ReconcileCounts, ctx: Ctx): Promise<boolean> {
  return scanPages(
    ctx.ddb,
    ctx.tables[index],
    {
      segments: ctx.options.segments ?? 4,
      pageSize: ctx.options.pageSize ?? 500,
      deadline: ctx.options.deadline,
    },
    async (items) => {
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
    },
  );
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

async function indexToTable(index: SearchIndex, counts: ReconcileCounts, ctx: Ctx): Promise<boolean> {
  const pageSize = ctx.options.pageSize ?? 500;
  let res = await ctx.client.search({
    index: aliases[index],
    scroll: '5m',
    body: { size: pageSize, _source: false, version: true, sort: ['_doc'], query: { match_all: {} } },
  });
  let scrollId = res.body._scroll_id;
  try {
    for (;;) {
      const hits = (res.body.hits?.hits ?? []) as Array<{ _id: string; _version?: number }>;
      if (hits.length === 0) return true;
      counts.checkedDocs += hits.length;
      const keyed = hits.map((hit) => ({ hit, key: keyOfDocId(index, hit._id) }));
      const keys = keyed.flatMap((k) => (k.key ? [k.key] : []));
      const items = await batchGetAll<Record<string, unknown>>(ctx.ddb, ctx.tables[index], keys);
      const found = new Map(items.map((item) => [docKey(index, item), item]));
      const repairs: SearchAction[] = [];
      for (const { hit, key } of keyed) {
        const item = key ? found.get(docKey(index, key)) : undefined;
        const docVersion = hit._version ?? 0;
        if (!item) {
          counts.orphaned++;
          repairs.push({
            op: 'delete',
            index,
            id: hit._id,
            version: absentVersion(itemVersionOf(docVersion)),
          });
        } else if (index === 'users' && item.status !== 'active' && typeof item.version === 'number') {
          const version = absentVersion(item.version);
          if (version <= docVersion) continue;
          counts.inactive++;
          repairs.push({ op: 'delete', index, id: hit._id, version });
        }
      }
      await repair(repairs, counts, ctx);
      if (ctx.options.deadline !== undefined && Date.now() > ctx.options.deadline) return false;
      res = await ctx.client.scroll({ scroll_id: scrollId as string, scroll: '5m' });
      scrollId = res.body._scroll_id ?? scrollId;
    }
  } finally {
    if (scrollId) await ctx.client.clearScroll({ scroll_id: scrollId }).catch(() => undefined);
  }
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
