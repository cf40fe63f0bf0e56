import {
  isSearchUnavailable,
  queryOptions,
  responseErrorType,
  type SearchClient,
  searchClient,
} from '../adapters/opensearch.js';
import { listUserConversations } from '../data/conversations-repo.js';
import { type MessageCore, type MessageItem, messageCore } from '../data/messages-repo.js';
import { getUsers } from '../data/users-repo.js';
import { type PublicProfile, toPublicProfile } from '../domain/users.js';
import { ForbiddenError, UnavailableError } from '../errors.js';
import { itemVersionOf, presentVersion } from './documents.js';
import { aliases, type SearchIndex } from './indices.js';

export interface SearchDeps {
  client?: SearchClient;
}

interface Hit<T> {
  _id: string;
  /** The external version, when the query asks for it (`version: true`). */
  _version?: number;
  _source?: T;
  highlight?: Record<string, string[]>;
}

/** Runs a query; a missing index is an empty result, an unreachable domain 503 `unavailable`. */
async function query<T>(
  client: SearchClient,
  index: SearchIndex,
  body: Record<string, unknown>,
): Promise<Hit<T>[]> {
  try {
    const res = await client.search({ index: aliases[index], body }, queryOptions);
    return (res.body.hits?.hits ?? []) as unknown as Hit<T>[];
  } catch (err) {
    if (responseErrorType(err) === 'index_not_found_exception') return [];
    if (isSearchUnavailable(err))
      throw new UnavailableError('Search is temporarily unavailable, retry later', err);
    throw err;
  }
}

/**
 * Users by username prefix (`ali` finds `alice`; an exact username ranks first; a leading `@` is
 * ignored) or display-name words and word prefixes. Profiles come from the users table (strongly
 * consistent), so results show current names and never a user who is no longer active, even while the
 * index lags.
 */
export async function searchUsers(q: string, limit: number, deps: SearchDeps = {}): Promise<PublicProfile[]> {
  const text = q.trim().replace(/^@/, '') || q.trim();
  const lower = text.toLowerCase();
  const hits = await query<{ userId: string }>(deps.client ?? searchClient(), 'users', {
    size: limit,
    _source: false,
    query: {
      bool: {
        should: [
          { term: { username: { value: lower, boost: 8 } } },
          { match: { 'username.prefix': { query: lower, boost: 4 } } },
          { match: { displayName: { query: text, operator: 'and', boost: 2 } } },
          { match: { 'displayName.prefix': { query: text, operator: 'and' } } },
        ],
        minimum_should_match: 1,
      },
    },
    sort: ['_score', { username: 'asc' }],
    track_total_hits: false,
  });
  if (hits.length === 0) return [];
  const users = new Map((await getUsers(hits.map((h) => h._id))).map((u) => [u.userId, u]));
  const out: PublicProfile[] = [];
  for (const hit of hits) {
    const user = users.get(hit._id);
    if (user?.status === 'active') out.push(toPublicProfile(user));
  }
  return out;
}

/**
 * The `Message` object of the contract as the index holds it: the message's core, and the version the
 * document holds (see documents.ts).
 */
export type SearchedMessage = MessageCore & Pick<MessageItem, 'version'>;

export interface MessageSearchResult {
  message: SearchedMessage;
  /** Matching fragments, HTML-escaped, matches wrapped in `<em>…</em>`. */
  highlights: string[];
}

/**
 * Full-text search over the messages of the conversations the caller is a member of NOW: memberships
 * are read from the base table (strongly consistent) on every query and the search is filtered to
 * them, so an outsider never finds anything and a former member finds nothing any more. A
 * `conversationId` the caller is not a member of is 403 `not_a_member`.
 */
export async function searchMessages(
  userId: string,
  input: { q: string; conversationId?: string; limit: number },
  deps: SearchDeps = {},
): Promise<MessageSearchResult[]> {
  const memberOf = new Set((await listUserConversations(userId)).map((c) => c.conversationId));
  if (input.conversationId !== undefined && !memberOf.has(input.conversationId)) {
    throw new ForbiddenError('Not a member of this conversation', 'not_a_member');
  }
  const scope = input.conversationId !== undefined ? [input.conversationId] : [...memberOf];
  if (scope.length === 0) return [];
  const q = input.q.trim();
  const hits = await query<SearchedMessage>(deps.client ?? searchClient(), 'messages', {
    size: input.limit,
    version: true,
    query: {
      bool: {
        filter: [{ terms: { conversationId: scope } }],
        should: [
          // Every word / CJK bigram of the query.
          { match: { text: { query: q, operator: 'and' } } },
          // The query as a phrase of single ideographs/kana/words: single-character CJK queries.
          { match_phrase: { 'text.std': { query: q } } },
        ],
        minimum_should_match: 1,
      },
    },
    sort: ['_score', { createdAt: 'desc' }, { seq: 'desc' }],
    highlight: {
      encoder: 'html',
      pre_tags: ['<em>'],
      post_tags: ['</em>'],
      require_field_match: true,
      fields: {
        text: { number_of_fragments: 3, fragment_size: 150, no_match_size: 0 },
        'text.std': { number_of_fragments: 3, fragment_size: 150, no_match_size: 0 },
      },
    },
    track_total_hits: false,
  });
  const out: MessageSearchResult[] = [];
  for (const hit of hits) {
    const s = hit._source;
    // Belt and braces: the filter already restricts hits to the caller's conversations.
    if (!s || !memberOf.has(s.conversationId)) continue;
    out.push({
      message: { ...messageCore(s), version: itemVersionOf(hit._version ?? presentVersion(1)) },
      highlights: hit.highlight?.text ?? hit.highlight?.['text.std'] ?? [],
    });
  }
  return out;
}
