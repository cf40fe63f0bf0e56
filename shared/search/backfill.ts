import { type SearchClient, searchClient } from '../adapters/opensearch.js';
import { type DocClient, ddb as defaultDdb } from '../clients/dynamodb.js';
import { type Config, config } from '../config/env.js';
import { scanPages } from '../data/scan.js';
import { type ActionOutcome, applyActions } from './bulk.js';
import { actionForItem, type SearchAction } from './documents.js';
import { ensureIndices, type SearchIndex } from './indices.js';

export interface BackfillOptions {
  /** Which indices to fill; both by default. */
  readonly indices?: readonly SearchIndex[];
  readonly segments?: number;
  /** Items per scan page, which is also the bulk request size. */
  readonly pageSize?: number;
  readonly client?: SearchClient;
  readonly ddb?: DocClient;
  readonly tables?: Config['tables'];
  /** Progress lines (the command prints them). */
  readonly log?: (line: string) => void;
}

export interface BackfillCounts {
  /** Items read from the table. */
  scanned: number;
  /** Documents written (the index did not have this version yet). */
  indexed: number;
  /** Documents removed (users that are not active). */
  deleted: number;
  /** Already at this version or newer (live writes won, or nothing to do). */
  superseded: number;
  /** Items the index rejected or that could not be mapped. */
  failed: number;
}

export interface BackfillReport {
  readonly byIndex: Record<SearchIndex, BackfillCounts>;
  readonly docs: number;
  readonly durationMs: number;
  readonly docsPerSecond: number;
  /** A few failure reasons, for the operator. */
  readonly failures: string[];
}

const emptyCounts = (): BackfillCounts => ({ scanned: 0, indexed: 0, deleted: 0, superseded: 0, failed: 0 });

/**
 * Indexes every item of the users and messages tables as it is now, with the same external versions as
 * the stream indexer. Safe while live writes go on: whichever of the two writes a document last, the
 * higher item version wins, and a document deleted meanwhile is not resurrected (its tombstone holds a
 * higher version). Re-runnable at will.
 */
export async function backfill(options: BackfillOptions = {}): Promise<BackfillReport> {
  const client = options.client ?? searchClient();
  const ddb = options.ddb ?? defaultDdb;
  const tables = options.tables ?? config().tables;
  const indices = options.indices ?? (['users', 'messages'] as const);
  await ensureIndices(client);
  const started = performance.now();
  const byIndex = { users: emptyCounts(), messages: emptyCounts() };
  const failures: string[] = [];
  for (const index of indices) {
    const counts = byIndex[index];
    const t0 = performance.now();
    await scanPages(
      ddb,
      tables[index],
      { segments: options.segments ?? 4, pageSize: options.pageSize ?? 500 },
      async (items) => {
        counts.scanned += items.length;
        const actions: SearchAction[] = [];
        for (const item of items) {
          try {
            actions.push(actionForItem(index, item));
          } catch (err) {
            counts.failed++;
            if (failures.length < 20) failures.push(`${index}: ${(err as Error).message}`);
          }
        }
        const outcomes = await applyActions(actions, client);
        count(counts, actions, outcomes, failures);
      },
    );
    const s = (performance.now() - t0) / 1000;
    options.log?.(
      `${index}: ${counts.scanned} items in ${s.toFixed(1)} s (${Math.round(counts.scanned / s)} docs/s), ` +
        `${counts.indexed} indexed, ${counts.deleted} deleted, ${counts.superseded} already current, ${counts.failed} failed`,
    );
  }
  const durationMs = performance.now() - started;
  const docs = byIndex.users.scanned + byIndex.messages.scanned;
  return { byIndex, docs, durationMs, docsPerSecond: docs / (durationMs / 1000), failures };
}

function count(
  counts: BackfillCounts,
  actions: readonly SearchAction[],
  outcomes: readonly ActionOutcome[],
  failures: string[],
) {
  outcomes.forEach((o, i) => {
    const action = actions[i] as SearchAction;
    if (o.status === 'superseded') counts.superseded++;
    else if (o.status === 'failed') {
      counts.failed++;
      if (failures.length < 20) failures.push(`${action.index}/${action.id}: ${o.type}: ${o.reason}`);
    } else if (action.op === 'index') counts.indexed++;
    else counts.deleted++;
  });
}
