import { responseErrorType, type SearchClient, searchClient } from '../adapters/opensearch.js';
import { logger } from '../logger.js';

/**
 * Searches and writes go through aliases; each alias points at one versioned physical index, so a
 * mapping change is a new `-v<N>` index filled by a backfill and an alias swap, with no downtime.
 */
export const aliases = { users: 'users', messages: 'messages' } as const;
export type SearchIndex = keyof typeof aliases;

/**
 * The mapping's version. 2: Latin text folds accents (`cafe` finds `café`); indices of an older
 * version are migrated by `ensureIndices`.
 */
export const SCHEMA_VERSION = 2;
export const physicalIndex = (index: SearchIndex) => `${aliases[index]}-v${SCHEMA_VERSION}`;

/**
 * How long a delete's tombstone keeps rejecting older versions. Longer than the stream's 24-hour
 * retention (the longest a stale record can still be delivered or replayed), with margin. Tombstones
 * live in the shard's memory: a node restart or shard relocation drops them (see the reconciler).
 */
export const GC_DELETES = '48h';

const common = {
  number_of_shards: 1,
  // 0 replicas on a single node (local), 1 as soon as there is a second data node (AWS, prod).
  auto_expand_replicas: '0-1',
  gc_deletes: GC_DELETES,
  refresh_interval: '1s',
};

/** Edge n-grams of a whole username / of each display-name word, for search-as-you-type. */
const prefixGrams = { type: 'edge_ngram', min_gram: 1, max_gram: 32 };
/**
 * Latin letters with diacritics also indexed and searched without them (`café` as `café` and `cafe`),
 * so either spelling finds the other; the original token stays, so exact matches still rank. Only
 * characters with an ASCII equivalent change: CJK, Cyrillic, Greek... pass through untouched.
 */
const accentFolding = { type: 'asciifolding', preserve_original: true };

export const indexDefinitions: Record<SearchIndex, Record<string, unknown>> = {
  users: {
    settings: {
      index: common,
      analysis: {
        filter: { prefix_grams: prefixGrams, accent_folding: accentFolding },
        normalizer: { lowercase: { type: 'custom', filter: ['lowercase'] } },
        analyzer: {
          username_prefix: { type: 'custom', tokenizer: 'keyword', filter: ['lowercase', 'prefix_grams'] },
          username_query: { type: 'custom', tokenizer: 'keyword', filter: ['lowercase'] },
          name_prefix: {
            type: 'custom',
            tokenizer: 'standard',
            filter: ['cjk_width', 'lowercase', 'accent_folding', 'prefix_grams'],
          },
          name_query: {
            type: 'custom',
            tokenizer: 'standard',
            filter: ['cjk_width', 'lowercase', 'accent_folding'],
          },
        },
      },
    },
    mappings: {
      dynamic: 'strict',
      _meta: { schemaVersion: SCHEMA_VERSION },
      properties: {
        userId: { type: 'keyword' },
        username: {
          type: 'keyword',
          normalizer: 'lowercase',
          fields: {
            prefix: { type: 'text', analyzer: 'username_prefix', search_analyzer: 'username_query' },
          },
        },
        displayName: {
          type: 'text',
          analyzer: 'name_query',
          fields: { prefix: { type: 'text', analyzer: 'name_prefix', search_analyzer: 'name_query' } },
        },
        // Returned, not searched; handlers read the live profile from the users table anyway.
        bio: { type: 'text', index: false },
      },
    },
  },
  messages: {
    settings: {
      index: common,
      analysis: {
        filter: {
          accent_folding: accentFolding,
          english_stop: { type: 'stop', stopwords: '_english_' },
        },
        analyzer: {
          // The built-in `cjk` analyzer (standard tokenizer, cjk_width, lowercase, cjk_bigram, English
          // stop words) with accent folding: CJK text as overlapping bigrams, Latin words folded.
          text_cjk: {
            type: 'custom',
            tokenizer: 'standard',
            filter: ['cjk_width', 'lowercase', 'cjk_bigram', 'english_stop', 'accent_folding'],
          },
          // The `standard` analyzer with accent folding.
          text_std: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'accent_folding'] },
        },
      },
    },
    mappings: {
      dynamic: 'strict',
      _meta: { schemaVersion: SCHEMA_VERSION },
      properties: {
        conversationId: { type: 'keyword' },
        seq: { type: 'long' },
        messageId: { type: 'keyword' },
        senderId: { type: 'keyword' },
        clientMessageId: { type: 'keyword', index: false },
        // `text_cjk`: CJK text as overlapping bigrams (你好世界 -> 你好 好世 世界), other scripts as words.
        // `text.std`: one token per ideograph/kana, so single-character and exact-phrase queries match.
        text: { type: 'text', analyzer: 'text_cjk', fields: { std: { type: 'text', analyzer: 'text_std' } } },
        createdAt: { type: 'date' },
      },
    },
  },
};

/**
 * Creates each physical index with its alias if the alias does not exist yet, and migrates an alias
 * that still points at an older version (`migrateIndex`). Idempotent and safe to run concurrently (a
 * lost creation race is success). Writes use `require_alias`, so nothing can auto-create an index with
 * a guessed mapping before this has run.
 */
export async function ensureIndices(client: SearchClient = searchClient()): Promise<string[]> {
  const created: string[] = [];
  for (const index of Object.keys(aliases) as SearchIndex[]) {
    const exists = await client.indices.existsAlias({ name: aliases[index] });
    if (exists.body) {
      // The usual case: the alias already points at this version's index.
      const current = await client.indices.existsAlias({ name: aliases[index], index: physicalIndex(index) });
      if (current.body) continue;
      const migrated = await migrateAlias(
        client,
        aliases[index],
        physicalIndex(index),
        indexDefinitions[index],
      );
      if (migrated) created.push(physicalIndex(index));
      continue;
    }
    try {
      await client.indices.create({
        index: physicalIndex(index),
        body: { ...indexDefinitions[index], aliases: { [aliases[index]]: { is_write_index: true } } },
      });
      created.push(physicalIndex(index));
      logger.info('search index created', { index: physicalIndex(index), alias: aliases[index] });
    } catch (err) {
      if (responseErrorType(err) !== 'resource_already_exists_exception') throw err;
      // Another process created it; make sure the alias is there (creation is atomic with it).
      const again = await client.indices.existsAlias({ name: aliases[index] });
      if (!again.body) throw err;
    }
  }
  return created;
}

/**
 * Moves an alias (`users`, `messages`) to this version's index `target`, from older physical indices
 * of the same alias (`<alias>-v<N>`): creates the target, swaps the alias in one atomic alias update,
 * copies the old documents with their external versions, then drops the old indices. The alias moves
 * FIRST so that every write from then on (index or delete, with its external version) lands in the new
 * index, and the copy cannot bring back anything older (a newer document or a delete's tombstone wins
 * over the copied version; such conflicts are skipped). Until the copy ends, searches miss documents
 * not yet copied (search is eventually consistent; the scheduled reconciler repairs anything missed).
 * The old index is dropped only once copied; a copy interrupted after the swap is finished by the
 * next call of this function, or else by the reconciler, which restores missing documents from the
 * tables.
 * Concurrent calls may both copy (harmless: same versions). True when an older index was found.
 */
export async function migrateAlias(
  client: SearchClient,
  alias: string,
  target: string,
  definition: Record<string, unknown>,
): Promise<boolean> {
  const pattern = new RegExp(`^${alias.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-v\\d+$`);
  const existing = await client.indices.get(
    { index: `${alias}-v*`, expand_wildcards: 'open' },
    { ignore: [404] },
  );
  const older = Object.keys(existing.body ?? {}).filter((name) => name !== target && pattern.test(name));
  if (older.length === 0) return false;
  try {
    await client.indices.create({ index: target, body: definition });
  } catch (err) {
    if (responseErrorType(err) !== 'resource_already_exists_exception') throw err;
  }
  const holders = Object.keys((await client.indices.getAlias({ name: alias }, { ignore: [404] })).body ?? {});
  const stale = holders.filter((name) => name !== target);
  if (stale.length > 0) {
    try {
      await client.indices.updateAliases({
        body: {
          actions: [
            ...stale.map((name) => ({ remove: { index: name, alias, must_exist: true } })),
            { add: { index: target, alias, is_write_index: true } },
          ],
        },
      });
    } catch (err) {
      // Another process swapped it first; it copies the documents.
      if (responseErrorType(err) === 'aliases_not_found_exception') return false;
      throw err;
    }
  }
  logger.info('search index migrating', { from: older, to: target, alias });
  for (const name of older) {
    try {
      await copyDocuments(client, name, target);
    } catch (err) {
      // A concurrent migration copied it and dropped it under this copy: done.
      const type = responseErrorType(err);
      if (type === 'index_not_found_exception' || type === 'search_context_missing_exception') continue;
      throw err;
    }
    await client.indices.delete({ index: name }, { ignore: [404] });
  }
  logger.info('search index migrated', { from: older, to: target, alias });
  return true;
}

/**
 * Copies every document of `source` into `target` with its external version, 500 at a time through a
 * scroll. Written here rather than with `_reindex` because that module is not in every distribution
 * (the local minimal node has none); the effect is the same as `_reindex` with `version_type: external`
 * and `conflicts: proceed`.
 */
async function copyDocuments(client: SearchClient, source: string, target: string): Promise<void> {
  type Hit = { _id: string; _version: number; _source: Record<string, unknown> };
  let page = await client.search(
    { index: source, scroll: '2m', size: 500, version: true, body: { sort: ['_doc'] } },
    { ignore: [404] },
  );
  let scrollId = page.body._scroll_id as string | undefined;
  try {
    for (;;) {
      const hits = (page.body.hits?.hits ?? []) as unknown as Hit[];
      if (hits.length === 0) break;
      const body = hits.flatMap((h) => [
        { index: { _index: target, _id: h._id, version: h._version, version_type: 'external' } },
        h._source,
      ]);
      const res = await client.bulk({ body });
      const failed = (
        (res.body.items ?? []) as Array<Record<string, { status: number; error?: { type?: string } }>>
      )
        .map((entry) => Object.values(entry)[0])
        .filter(
          (item) => item && item.status >= 300 && item.error?.type !== 'version_conflict_engine_exception',
        );
      if (failed.length > 0)
        throw new Error(`copying ${source} to ${target}: ${failed.length} documents failed`);
      if (!scrollId) break;
      page = await client.scroll({ scroll_id: scrollId, scroll: '2m' });
      scrollId = (page.body._scroll_id as string | undefined) ?? scrollId;
    }
  } finally {
    if (scrollId) await client.clearScroll({ scroll_id: scrollId }).catch(() => undefined);
  }
}

const ensured = new WeakMap<SearchClient, Promise<unknown>>();
/** `ensureIndices` once per process and client; a failure is retried on the next call. */
export function ensureIndicesOnce(client: SearchClient = searchClient()): Promise<unknown> {
  let done = ensured.get(client);
  if (!done) {
    done = ensureIndices(client).catch((err) => {
      ensured.delete(client);
      throw err;
    });
    ensured.set(client, done);
  }
  return done;
}

/** Forgets that the indices were ensured (one was deleted under us): the next write ensures them again. */
export function forgetEnsuredIndices(client: SearchClient = searchClient()): void {
  ensured.delete(client);
}

/** Makes everything indexed so far searchable (tests, benchmarks, operations' final report). */
export async function refreshIndices(client: SearchClient = searchClient()): Promise<void> {
  await client.indices.refresh({ index: Object.values(aliases).join(',') });
}

/** Index names from command-line arguments; both when none are given. */
export function parseIndices(args: readonly string[]): SearchIndex[] {
  if (args.length === 0) return ['users', 'messages'];
  return args.map((a) => {
    if (a !== 'users' && a !== 'messages') throw new Error(`Unknown index "${a}" (users or messages)`);
    return a;
  });
}
