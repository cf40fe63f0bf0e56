import { type SearchClient, searchClient } from '../adapters/opensearch.js';
import type { SearchAction } from './documents.js';
import { aliases, ensureIndicesOnce, forgetEnsuredIndices } from './indices.js';

export type ActionOutcome =
  /** Applied (`created`, `updated`, `deleted`, or a delete of a document that was not there). */
  | { readonly status: 'applied' }
  /** The index already holds this version or a newer one: nothing to do, which is success. */
  | { readonly status: 'superseded' }
  | {
      readonly status: 'failed';
      readonly httpStatus: number;
      readonly type: string;
      readonly reason: string;
    };

interface BulkItemResult {
  status: number;
  result?: string;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

/**
 * Applies actions in ONE bulk request, with external versions and `require_alias` (a missing alias
 * fails the items instead of auto-creating an unmapped index). Returns one outcome per action, in order.
 * Throws when the request as a whole fails (domain unreachable, timeout, 429 or 5xx on the request):
 * nothing can be said about any item then, and the caller retries the whole batch.
 */
export async function applyActions(
  actions: readonly SearchAction[],
  client: SearchClient = searchClient(),
): Promise<ActionOutcome[]> {
  if (actions.length === 0) return [];
  await ensureIndicesOnce(client);
  const body: Record<string, unknown>[] = [];
  for (const a of actions) {
    const meta = { _index: aliases[a.index], _id: a.id, version: a.version };
    if (a.op === 'index') body.push({ index: { ...meta, version_type: a.versionType ?? 'external' } }, a.doc);
    else body.push({ delete: { ...meta, version_type: 'external_gte' } });
  }
  const res = await client.bulk({ body, require_alias: true });
  const items = (res.body.items ?? []) as Array<Record<string, BulkItemResult>>;
  if (items.length !== actions.length) {
    throw new Error(`bulk answered ${items.length} items for ${actions.length} actions`);
  }
  const outcomes = items.map((entry) => outcomeOf(Object.values(entry)[0]));
  // An alias deleted under a running process: re-create it before the retried batch comes.
  if (outcomes.some((o) => o.status === 'failed' && o.type === 'index_not_found_exception')) {
    forgetEnsuredIndices(client);
  }
  return outcomes;
}

function outcomeOf(item: BulkItemResult | undefined): ActionOutcome {
  if (!item) return { status: 'failed', httpStatus: 0, type: 'missing_item', reason: 'no result for item' };
  if (item.status >= 200 && item.status < 300) return { status: 'applied' };
  // A delete of a document that is not there still records its version (a tombstone).
  if (item.status === 404 && item.result === 'not_found') return { status: 'applied' };
  if (item.status === 409 && item.error?.type === 'version_conflict_engine_exception') {
    return { status: 'superseded' };
  }
  const cause = item.error?.caused_by;
  return {
    status: 'failed',
    httpStatus: item.status,
    type: item.error?.type ?? 'unknown',
    reason: [item.error?.reason, cause?.reason].filter(Boolean).join(': ') || 'unknown',
  };
}

/** Counts of outcomes, for reports. */
export function tally(outcomes: readonly ActionOutcome[]) {
  const t = { applied: 0, superseded: 0, failed: 0 };
  for (const o of outcomes) t[o.status]++;
  return t;
}
