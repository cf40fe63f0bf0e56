import type { TableName } from '#shared/config/table-names.js';
import { SEQUENCER_TIMEOUT_SECONDS } from './messaging.js';

/** How a function may use a table; the stack turns it into the narrowest IAM grant. */
export type TableAccess = 'read' | 'write' | 'readWrite';

export interface FunctionSpec {
  /** Source below `functions/`, without extension. */
  readonly entry: string;
  readonly tables?: Partial<Record<TableName, TableAccess>>;
  /** Posts to, or closes, WebSocket connections through the `@connections` API. */
  readonly pushes?: boolean;
  /** Reads the token signing secret. */
  readonly signsTokens?: boolean;
  readonly memorySize?: number;
  readonly timeoutSeconds?: number;
  /** `query` runs searches; `index` writes the index (the indexer and the reconciler only). */
  readonly search?: 'query' | 'index';
  /** Reads and deletes messages of the indexer's dead-letter queue. */
  readonly drainsDeadLetters?: boolean;
  /** Starts and inspects saga executions (Step Functions). */
  readonly startsSagas?: boolean;
  /** Puts sends on the conversations' FIFO queue. */
  readonly enqueuesSends?: boolean;
  /** Reads the send queue's attributes only (the health check): no permission to enqueue. */
  readonly probesSendQueue?: boolean;
}

export interface HttpRouteSpec extends FunctionSpec {
  /** API Gateway route key, e.g. `GET /users/{userId}`. */
  readonly route: string;
  /** Public routes skip the authorizer. */
  readonly public?: boolean;
}

export interface WsRouteSpec extends FunctionSpec {
  readonly routeKey: string;
  /** Two-way route: the handler's return body is sent back to the calling connection. */
  readonly returnResponse?: boolean;
}

/**
 * Accepting a send, over HTTP or WebSocket: one code path, one set of grants. The route checks the rate
 * limit and membership, answers a retry from the guard, and queues the rest for the sequencer.
 */
const messaging = {
  pushes: true,
  enqueuesSends: true,
  // HTTP waits for the sequencer's commit for up to 20 s (SEND_WAIT_MS) before answering 503.
  timeoutSeconds: 30,
  tables: {
    conversations: 'read',
    messages: 'read',
    messageGuards: 'read',
    members: 'read',
    rateLimits: 'readWrite',
    connections: 'readWrite',
  },
} satisfies Omit<FunctionSpec, 'entry'>;

/**
 * Edits, deletions and reactions: one transaction per change under the conversation's change counter
 * (shared/data/message-changes-repo.ts), then an event to the members. Under contention a change waits
 * its turn (CHANGE_RETRY, up to 20 s), hence the timeout.
 */
const messageChange = {
  pushes: true,
  timeoutSeconds: 30,
  tables: {
    conversations: 'readWrite',
    members: 'read',
    friendships: 'read',
    messages: 'readWrite',
    messageChanges: 'readWrite',
    reactions: 'readWrite',
    rateLimits: 'readWrite',
    connections: 'readWrite',
  },
} satisfies Omit<FunctionSpec, 'entry'>;

/** Reading messages as a member sees them: reply quotes, own reactions, the change token. */
const messageReads = {
  conversations: 'read',
  members: 'read',
  messages: 'read',
  messageChanges: 'read',
  reactions: 'read',
} as const;

/** `typing`, `markRead` and `sync` frames share a per-connection rate limit. */
const frameLimit = { rateLimits: 'readWrite' } as const;

/** Asking (which may accept the reverse request) and accepting write the same records. */
const befriending = {
  pushes: true,
  tables: {
    users: 'read',
    friendships: 'readWrite',
    friendRequests: 'readWrite',
    conversations: 'readWrite',
    members: 'readWrite',
    userConversations: 'readWrite',
    connections: 'readWrite',
    // Neither of the pair may block the other (checked inside the transactions).
    blocks: 'read',
  },
} satisfies Omit<FunctionSpec, 'entry'>;

/** Every HTTP route of the public contract, each served by its own function. */
export const httpRoutes: HttpRouteSpec[] = [
  // Probes DynamoDB, the search domain and the send queue.
  {
    route: 'GET /health',
    entry: 'http/health',
    public: true,
    search: 'query',
    probesSendQueue: true,
    tables: { users: 'read' },
  },
  {
    route: 'POST /auth/register',
    entry: 'http/auth-register',
    public: true,
    signsTokens: true,
    memorySize: 1024,
    tables: { users: 'write', usernames: 'write' },
  },
  {
    route: 'POST /auth/login',
    entry: 'http/auth-login',
    public: true,
    signsTokens: true,
    memorySize: 1024,
    // Failed logins are throttled per username and per source address (rate-limit buckets).
    tables: { users: 'read', usernames: 'read', rateLimits: 'readWrite' },
  },
  {
    route: 'POST /auth/logout',
    entry: 'http/auth-logout',
    // Revokes the token and closes the sockets opened with it.
    pushes: true,
    tables: { users: 'readWrite', connections: 'readWrite' },
  },
  {
    route: 'POST /auth/password',
    entry: 'http/auth-password',
    signsTokens: true,
    memorySize: 1024,
    // Revokes every token of the account and closes its open sockets.
    pushes: true,
    tables: { users: 'readWrite', rateLimits: 'readWrite', connections: 'readWrite' },
  },
  { route: 'GET /me', entry: 'http/me-get', tables: { users: 'read' } },
  { route: 'PATCH /me', entry: 'http/me-update', tables: { users: 'readWrite' } },
  {
    route: 'GET /users/{userId}',
    entry: 'http/user-get',
    // Presence is shown to friends and group co-members without a block between them.
    tables: {
      users: 'read',
      friendships: 'read',
      userConversations: 'read',
      blocks: 'read',
      connections: 'read',
    },
  },
  {
    route: 'DELETE /me',
    entry: 'http/me-delete',
    startsSagas: true,
    tables: { users: 'read', operations: 'readWrite' },
  },
  { route: 'GET /operations/{operationId}', entry: 'http/operations-get', tables: { operations: 'read' } },
  {
    route: 'POST /friend-requests',
    entry: 'http/friend-requests-create',
    ...befriending,
  },
  { route: 'GET /friend-requests', entry: 'http/friend-requests-list', tables: { friendRequests: 'read' } },
  {
    route: 'POST /friend-requests/{requestId}/accept',
    entry: 'http/friend-requests-accept',
    ...befriending,
  },
  {
    route: 'POST /friend-requests/{requestId}/reject',
    entry: 'http/friend-requests-reject',
    tables: { friendRequests: 'readWrite' },
  },
  {
    route: 'DELETE /friend-requests/{requestId}',
    entry: 'http/friend-requests-cancel',
    tables: { friendRequests: 'readWrite' },
  },
  {
    route: 'GET /friends',
    entry: 'http/friends-list',
    tables: { friendships: 'read', users: 'read', connections: 'read' },
  },
  { route: 'DELETE /friends/{userId}', entry: 'http/friends-remove', tables: { friendships: 'readWrite' } },
  { route: 'GET /blocks', entry: 'http/blocks-list', tables: { blocks: 'read', users: 'read' } },
  {
    route: 'POST /blocks/{userId}',
    entry: 'http/blocks-create',
    // One transaction: the block, the friendship removed both ways, pending requests cancelled.
    tables: { blocks: 'readWrite', users: 'read', friendships: 'readWrite', friendRequests: 'readWrite' },
  },
  { route: 'DELETE /blocks/{userId}', entry: 'http/blocks-delete', tables: { blocks: 'readWrite' } },
  {
    route: 'GET /conversations',
    entry: 'http/conversations-list',
    tables: { userConversations: 'read', conversations: 'read', users: 'read' },
  },
  {
    route: 'POST /groups',
    entry: 'http/groups-create',
    pushes: true,
    startsSagas: true,
    // Groups per hour and invitations of non-friends are limited (docs/abuse-limits.md).
    tables: {
      rateLimits: 'readWrite',
      friendships: 'read',
      operations: 'readWrite',
      users: 'read',
      conversations: 'write',
      members: 'write',
      userConversations: 'write',
      connections: 'readWrite',
    },
  },
  {
    route: 'GET /conversations/{conversationId}',
    entry: 'http/conversation-get',
    tables: { conversations: 'read', members: 'read', userConversations: 'read' },
  },
  {
    route: 'POST /conversations/{conversationId}/members',
    entry: 'http/members-add',
    pushes: true,
    tables: {
      rateLimits: 'readWrite',
      friendships: 'read',
      users: 'read',
      conversations: 'readWrite',
      members: 'readWrite',
      userConversations: 'readWrite',
      connections: 'readWrite',
    },
  },
  {
    route: 'DELETE /conversations/{conversationId}/members/{userId}',
    entry: 'http/members-remove',
    pushes: true,
    tables: {
      conversations: 'readWrite',
      members: 'readWrite',
      userConversations: 'readWrite',
      connections: 'readWrite',
    },
  },
  {
    route: 'GET /conversations/{conversationId}/messages',
    entry: 'http/messages-list',
    tables: messageReads,
  },
  { route: 'POST /conversations/{conversationId}/messages', entry: 'http/messages-send', ...messaging },
  {
    route: 'PATCH /conversations/{conversationId}/messages/{seq}',
    entry: 'http/messages-edit',
    ...messageChange,
  },
  {
    route: 'DELETE /conversations/{conversationId}/messages/{seq}',
    entry: 'http/messages-delete',
    ...messageChange,
  },
  {
    route: 'POST /conversations/{conversationId}/messages/{seq}/reactions',
    entry: 'http/reactions-add',
    ...messageChange,
  },
  {
    route: 'DELETE /conversations/{conversationId}/messages/{seq}/reactions/{emoji}',
    entry: 'http/reactions-remove',
    ...messageChange,
  },
  {
    route: 'GET /conversations/{conversationId}/changes',
    entry: 'http/changes-list',
    tables: messageReads,
  },
  {
    route: 'POST /conversations/{conversationId}/read',
    entry: 'http/read-mark',
    pushes: true,
    tables: {
      conversations: 'read',
      members: 'read',
      // A direct conversation takes read receipts only between friends, as it takes sends.
      friendships: 'read',
      userConversations: 'readWrite',
      connections: 'readWrite',
    },
  },
  { route: 'GET /users', entry: 'http/users-search', search: 'query', tables: { users: 'read' } },
  {
    route: 'GET /search/messages',
    entry: 'http/messages-search',
    search: 'query',
    tables: { userConversations: 'read', conversations: 'read', members: 'read' },
  },
  { route: '$default', entry: 'http/not-found', public: true },
];

/**
 * Every frame re-checks its session (the account's status, token version and revoked tokens) and
 * closes a connection whose session ended (shared/ws/session.ts). It also renews the connection's
 * presence lease, which may bring the user back online for their friends.
 */
const session = {
  pushes: true,
  tables: { users: 'read', connections: 'readWrite', friendships: 'read' },
} as const;

/** WebSocket routes; route selection is on `$request.body.action`. */
export const wsRoutes: WsRouteSpec[] = [
  // At the per-user cap, `$connect` asks `@connections` whether the recorded connections still live.
  // Both reconcile presence and push its changes to friends.
  {
    routeKey: '$connect',
    entry: 'ws/connect',
    pushes: true,
    // rateLimits: the per-user connect limit, taken before anything is written.
    tables: { connections: 'readWrite', friendships: 'read', rateLimits: 'readWrite' },
  },
  {
    routeKey: '$disconnect',
    entry: 'ws/disconnect',
    pushes: true,
    tables: { connections: 'readWrite', friendships: 'read' },
  },
  { routeKey: '$default', entry: 'ws/default', returnResponse: true, ...session },
  { routeKey: 'ping', entry: 'ws/ping', returnResponse: true, ...session },
  {
    routeKey: 'sendMessage',
    entry: 'ws/send-message',
    ...messaging,
    tables: { ...messaging.tables, ...session.tables },
  },
  {
    routeKey: 'markRead',
    entry: 'ws/mark-read',
    pushes: true,
    tables: {
      ...frameLimit,
      ...session.tables,
      conversations: 'read',
      members: 'read',
      friendships: 'read',
      userConversations: 'readWrite',
    },
  },
  {
    routeKey: 'typing',
    entry: 'ws/typing',
    pushes: true,
    // Typing follows the send permission (friendship in a direct conversation) and skips blocked users.
    tables: {
      ...frameLimit,
      ...session.tables,
      conversations: 'read',
      members: 'read',
      friendships: 'read',
      blocks: 'read',
    },
  },
  {
    routeKey: 'sync',
    entry: 'ws/sync',
    returnResponse: true,
    pushes: true,
    tables: { ...frameLimit, ...session.tables, ...messageReads },
  },
  {
    routeKey: 'editMessage',
    entry: 'ws/edit-message',
    returnResponse: true,
    ...messageChange,
    tables: { ...messageChange.tables, ...session.tables },
  },
  {
    routeKey: 'deleteMessage',
    entry: 'ws/delete-message',
    returnResponse: true,
    ...messageChange,
    tables: { ...messageChange.tables, ...session.tables },
  },
  {
    routeKey: 'react',
    entry: 'ws/react',
    returnResponse: true,
    ...messageChange,
    tables: { ...messageChange.tables, ...session.tables },
  },
];

// Authorizers read the user too: a deleted or deleting account is refused at once.
export const authorizers = {
  http: { entry: 'auth/http-authorizer', signsTokens: true, tables: { users: 'read' } },
  ws: { entry: 'auth/ws-authorizer', signsTokens: true, tables: { users: 'read' } },
} satisfies Record<string, FunctionSpec>;

/** Consumers of the tables' streams and scheduled jobs (not routes). */
export const workers = {
  // Keeps OpenSearch following the users and messages tables; handlers never write the index.
  // A hung domain takes ~90 s to fail (3 attempts x 30 s); the retry after a timeout is safe anyway.
  searchIndexer: {
    entry: 'streams/search-indexer',
    search: 'index',
    timeoutSeconds: 120,
    tables: { users: 'read' },
  },
  // Repairs index drift on a schedule.
  searchReconciler: {
    entry: 'ops/search-reconciler',
    search: 'index',
    drainsDeadLetters: true,
    timeoutSeconds: 900,
    tables: { users: 'read', messages: 'read', cursors: 'readWrite' },
  },
  // The conversations' ordered writer: commits queued sends in batches, acks, fans out (infra/messaging.ts).
  messageSequencer: {
    entry: 'queues/message-sequencer',
    pushes: true,
    // Queues a flush marker that wakes a conversation whose sends it holds (shared/domain/sequencer.ts).
    enqueuesSends: true,
    timeoutSeconds: SEQUENCER_TIMEOUT_SECONDS,
    tables: {
      conversations: 'readWrite',
      messages: 'readWrite',
      messageGuards: 'readWrite',
      members: 'read',
      friendships: 'read',
      userConversations: 'readWrite',
      connections: 'readWrite',
    },
  },
  // Pushes messages of conversations too large to fan out inline (see INLINE_FANOUT_MAX_MEMBERS).
  messageFanout: {
    entry: 'streams/message-fanout',
    pushes: true,
    timeoutSeconds: 60,
    tables: { members: 'read', connections: 'readWrite' },
  },
  // Every step of the CreateGroup saga (see infra/sagas.ts).
  createGroupSaga: {
    entry: 'sagas/create-group',
    pushes: true,
    timeoutSeconds: 300,
    tables: {
      conversations: 'readWrite',
      members: 'readWrite',
      userConversations: 'readWrite',
      operations: 'readWrite',
      connections: 'readWrite',
    },
  },
  // Every step of the DeleteAccount saga.
  deleteAccountSaga: {
    entry: 'sagas/delete-account',
    pushes: true,
    search: 'index',
    timeoutSeconds: 900,
    tables: {
      users: 'readWrite',
      usernames: 'readWrite',
      friendships: 'readWrite',
      friendRequests: 'readWrite',
      conversations: 'readWrite',
      members: 'readWrite',
      userConversations: 'readWrite',
      connections: 'readWrite',
      operations: 'readWrite',
    },
  },
  // Closes idle WebSocket connections whose token expired (every minute; docs/sessions.md).
  sessionSweeper: {
    entry: 'ops/session-sweeper',
    pushes: true,
    timeoutSeconds: 55,
    tables: { connections: 'readWrite' },
  },
  // Finds operations whose saga died or never started, and finishes or undoes them.
  operationsReconciler: {
    entry: 'ops/operations-reconciler',
    startsSagas: true,
    timeoutSeconds: 300,
    tables: {
      operations: 'readWrite',
      conversations: 'readWrite',
      members: 'readWrite',
      userConversations: 'readWrite',
      users: 'read',
      cursors: 'readWrite',
    },
  },
} satisfies Record<string, FunctionSpec>;
