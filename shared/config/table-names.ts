/**
 * Every table of the data model. Each name is also the stem of the environment variable
 * (`<NAME>_TABLE`) through which functions learn the physical table name.
 *
 * Lists that must reflect a write at once (friends, conversations, pending requests, a user's
 * connections) are served from base-table keys, never from a GSI, because GSI reads are
 * eventually consistent.
 */
export const tableNames = [
  'users',
  'usernames',
  'friendRequests',
  'friendships',
  'blocks',
  'conversations',
  'members',
  'userConversations',
  'messages',
  'messageGuards',
  'messageChanges',
  'reactions',
  'connections',
  'idempotency',
  'operations',
  'rateLimits',
  'cursors',
] as const;
export type TableName = (typeof tableNames)[number];

/** `friendRequests` -> `FRIEND_REQUESTS_TABLE`. */
export function tableEnvVar(name: TableName): string {
  return `${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_TABLE`;
}

/** Sparse global secondary index of the operations table holding only unfinished operations. */
export const UNFINISHED_OPERATIONS_INDEX = 'unfinished';

/**
 * Sparse global secondary index of the connections table: only a connection's own item (`CONN#<id>` /
 * `META`) carries its partition `expiryShard`, sorted by `expiresAt`, so the session sweeper reads the
 * connections whose session ended without reading the table.
 */
export const EXPIRING_CONNECTIONS_INDEX = 'expiring';
