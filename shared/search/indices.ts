import { logger } from '../logger.js';
import { responseErrorType, type SearchClient, searchClient } from './client.js';

/**
 * Searches and writes go through aliases; each alias points at one versioned physical index, so a
 * mapping change is a new `-v<N>` index filled by a backfill and an alias swap, with no downtime.
 */
export const aliases = { users: 'users', messages: 'messages' } as const;
export type SearchIndex = keyof typeof aliases;

export const SCHEMA_VERSION = 1;
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

export const indexDefinitions: Record<SearchIndex, Record<string, unknown>> = {
  users: {
    settings: {
      index: common,
      analysis: {
        filter: { prefix_grams: prefixGrams },
        normalizer: { lowercase: { type: 'custom', filter: ['lowercase'] } },
        analyzer: {
          username_prefix: { type: 'custom', tokenizer: 'keyword', filter: ['lowercase', 'prefix_grams'] },
          username_query: { type: 'custom', tokenizer: 'keyword', filter: ['lowercase'] },
          name_prefix: {
            type: 'custom',
            tokenizer: 'standard',
            filter: ['cjk_width', 'lowercase', 'prefix_grams'],
          },
          name_query: { type: 'custom', tokenizer: 'standard', filter: ['cjk_width', 'lowercase'] },
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
    settings: { index: common },
    mappings: {
      dynamic: 'strict',
      _meta: { schemaVersion: SCHEMA_VERSION },
      properties: {
        conversationId: { type: 'keyword' },
        seq: { type: 'long' },
        messageId: { type: 'keyword' },
        senderId: { type: 'keyword' },
        clientMessageId: { type: 'keyword', index: false },
        // `cjk`: CJK text as overlapping bigrams (你好世界 -> 你好 好世 世界), other scripts as words.
        // `text.std`: one token per ideograph/kana, so single-character and exact-phrase queries match.
        text: { type: 'text', analyzer: 'cjk', fields: { std: { type: 'text', analyzer: 'standard' } } },
        createdAt: { type: 'date' },
      },
    },
  },
};

/**
 * Creates each physical index with its alias if the alias does not exist yet. Idempotent and safe to
 * run concurrently (a lost creation race is success). Writes use `require_alias`, so nothing can
 * auto-create an index with a guessed mapping before this has run.
 */
export async function ensureIndices(client: SearchClient = searchClient()): Promise<string[]> {
  const created: string[] = [];
  for (const index of Object.keys(aliases) as SearchIndex[]) {
    const exists = await client.indices.existsAlias({ name: aliases[index] });
    if (exists.body) continue;
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
