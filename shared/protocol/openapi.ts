import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import {
  blocksPage,
  changesPage,
  conversation,
  conversationDetail,
  conversationsPage,
  errorBody,
  friendAccepted,
  friendRequest,
  friendsPage,
  health,
  historyPage,
  message,
  operation,
  publicProfile,
  session,
  user,
  userProfile,
} from './objects.js';
import {
  addMembersBody,
  changePasswordBody,
  changesQuery,
  editMessageBody,
  emoji,
  friendRequestBody,
  friendRequestsQuery,
  groupBody,
  historyQuery,
  id,
  loginBody,
  markReadBody,
  messagesSearchQuery,
  pageQuery,
  reactionBody,
  registerBody,
  sendMessageBody,
  seqParam,
  updateMeBody,
  usersSearchQuery,
} from './requests.js';

/** The contract's version; bump it with any change to the published documents. */
export const API_VERSION = '1.3.0';

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const noContent = { description: 'Done; no body' };
const errors = (...statuses: number[]): ZodOpenApiResponsesObject =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
const items = (schema: z.ZodType) => z.object({ items: z.array(schema) });
const path = (...names: string[]) => z.object(Object.fromEntries(names.map((n) => [n, id])));
/** A message's path: its conversation and seq. */
const messagePath = z.object({ conversationId: id, seq: seqParam });
const idempotencyKey = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: 'Repeats within 24 h with the same body return the first response' }),
});

/**
 * One operation per HTTP route of the CDK app (`infra/routes.ts`), keyed by its route key. The request
 * schemas are those the handlers validate with; the drift test checks both lists match.
 */
export const httpOperations: Record<string, ZodOpenApiOperationObject> = {
  'GET /health': {
    summary: 'Liveness and dependency check (database, search, send queue)',
    security: [],
    responses: {
      '200': json(health, 'Every dependency answered'),
      '503': json(errorBody, 'unavailable: error.dependencies says which dependency is down'),
    },
  },
  'POST /auth/register': {
    summary: 'Create an account (usernames are case-insensitive)',
    security: [],
    requestBody: body(registerBody),
    responses: { '201': json(session, 'Registered and signed in'), ...errors(400, 409) },
  },
  'POST /auth/login': {
    summary: 'Sign in; the token lasts 12 h. Attempts are throttled per username and per source address',
    security: [],
    requestBody: body(loginBody),
    responses: { '200': json(session, 'Signed in'), ...errors(400, 401) },
  },
  'POST /auth/logout': {
    summary: "Revoke this request's token and close the WebSocket connections opened with it",
    responses: { '204': noContent, ...errors(401) },
  },
  'POST /auth/password': {
    summary:
      'Change the password: every token of the account is revoked and every open socket closed; ' +
      'answers a fresh session',
    requestBody: body(changePasswordBody),
    responses: { '200': json(session, 'Changed; the new session'), ...errors(400, 401) },
  },
  'GET /me': { summary: 'Your account', responses: { '200': json(user, 'You'), ...errors(401) } },
  'PATCH /me': {
    summary: 'Change displayName or bio (optimistic locking on expectedVersion)',
    requestBody: body(updateMeBody),
    responses: { '200': json(user, 'Updated, version + 1'), ...errors(400, 401, 409) },
  },
  'DELETE /me': {
    summary: 'Erase your account (runs as a saga)',
    responses: { '202': json(operation, 'Started'), ...errors(401) },
  },
  'GET /operations/{operationId}': {
    summary: 'State of a long-running operation',
    requestParams: { path: path('operationId') },
    responses: { '200': json(operation, 'The operation'), ...errors(401, 404) },
  },
  'GET /users/{userId}': {
    summary: 'A public profile; with presence for friends and group co-members',
    requestParams: { path: path('userId') },
    responses: { '200': json(userProfile, 'The profile'), ...errors(401, 404) },
  },
  'GET /users': {
    summary: 'Search users by username or display name (eventually consistent)',
    requestParams: { query: usersSearchQuery },
    responses: { '200': json(items(publicProfile), 'Matches'), ...errors(400, 401) },
  },
  'POST /friend-requests': {
    summary: 'Ask for friendship; accepts theirs if they already asked you',
    requestBody: body(friendRequestBody),
    responses: {
      '201': json(friendRequest, 'Request sent'),
      '200': json(friendAccepted.extend({ status: z.literal('accepted') }), 'Their request was accepted'),
      ...errors(400, 401, 403, 404, 409),
    },
  },
  'GET /friend-requests': {
    summary: 'Pending requests',
    requestParams: { query: friendRequestsQuery },
    responses: { '200': json(items(friendRequest), 'Pending requests'), ...errors(400, 401) },
  },
  'POST /friend-requests/{requestId}/accept': {
    summary: 'Accept (recipient only); repeating returns the same result',
    requestParams: { path: path('requestId') },
    responses: { '200': json(friendAccepted, 'Friends now'), ...errors(401, 403, 404) },
  },
  'POST /friend-requests/{requestId}/reject': {
    summary: 'Reject (recipient only)',
    requestParams: { path: path('requestId') },
    responses: { '204': noContent, ...errors(401, 403, 404) },
  },
  'DELETE /friend-requests/{requestId}': {
    summary: 'Cancel (sender only)',
    requestParams: { path: path('requestId') },
    responses: { '204': noContent, ...errors(401, 403, 404) },
  },
  'GET /friends': {
    summary: 'Your friends, oldest friendship first, a page at a time',
    requestParams: { query: pageQuery },
    responses: { '200': json(friendsPage, 'A page of friends'), ...errors(400, 401) },
  },
  'DELETE /friends/{userId}': {
    summary: 'Unfriend, both ways; the direct conversation keeps its history',
    requestParams: { path: path('userId') },
    responses: { '204': noContent, ...errors(401, 404) },
  },
  'GET /blocks': {
    summary: 'The users you block, most recent first, a page at a time',
    requestParams: { query: pageQuery },
    responses: { '200': json(blocksPage, 'A page of blocked users'), ...errors(400, 401) },
  },
  'POST /blocks/{userId}': {
    summary: 'Block a user: ends a friendship and pending requests with them in one step; repeatable',
    requestParams: { path: path('userId') },
    responses: { '204': noContent, ...errors(400, 401, 404) },
  },
  'DELETE /blocks/{userId}': {
    summary: 'Unblock a user (the friendship is not restored)',
    requestParams: { path: path('userId') },
    responses: { '204': noContent, ...errors(401, 404) },
  },
  'GET /conversations': {
    summary: 'Your conversations, most recent activity first, with unread counts, a page at a time',
    requestParams: { query: pageQuery },
    responses: { '200': json(conversationsPage, 'A page of conversations'), ...errors(400, 401) },
  },
  'POST /groups': {
    summary: 'Create a group with you as owner',
    requestBody: body(groupBody),
    responses: {
      '201': json(conversation, 'Created'),
      '202': json(z.object({ conversation, operation }), 'Large group: created by a saga'),
      ...errors(400, 401, 404),
    },
  },
  'GET /conversations/{conversationId}': {
    summary: 'A conversation with its members',
    requestParams: { path: path('conversationId') },
    responses: { '200': json(conversationDetail, 'The conversation'), ...errors(401, 403, 404) },
  },
  'POST /conversations/{conversationId}/members': {
    summary: 'Add members (owner only)',
    requestParams: { path: path('conversationId') },
    requestBody: body(addMembersBody),
    responses: { '200': json(conversation, 'Updated'), ...errors(400, 401, 403, 404) },
  },
  'DELETE /conversations/{conversationId}/members/{userId}': {
    summary: 'Leave (yourself) or remove (owner)',
    requestParams: { path: path('conversationId', 'userId') },
    responses: { '204': noContent, ...errors(401, 403, 404) },
  },
  'GET /conversations/{conversationId}/messages': {
    summary: 'History, ascending by seq',
    requestParams: { path: path('conversationId'), query: historyQuery },
    responses: {
      '200': json(historyPage, 'A page, with reply quotes, your reactions and the change token'),
      ...errors(400, 401, 403, 404),
    },
  },
  'GET /conversations/{conversationId}/changes': {
    summary: 'Messages edited, deleted or reacted to after a change token, as they are now',
    requestParams: { path: path('conversationId'), query: changesQuery },
    responses: { '200': json(changesPage, 'A page of changes'), ...errors(400, 401, 403, 404) },
  },
  'PATCH /conversations/{conversationId}/messages/{seq}': {
    summary: 'Edit your message: same seq, version + 1, editedAt; members get messageEdited',
    requestParams: { path: messagePath },
    requestBody: body(editMessageBody),
    responses: { '200': json(message, 'The edited message'), ...errors(400, 401, 403, 404) },
  },
  'DELETE /conversations/{conversationId}/messages/{seq}': {
    summary: "Delete a message (sender or group's owner): a tombstone with deletedAt stays at its seq",
    requestParams: { path: messagePath },
    responses: { '204': noContent, ...errors(400, 401, 403, 404) },
  },
  'POST /conversations/{conversationId}/messages/{seq}/reactions': {
    summary: 'Add your reaction (once per emoji; again changes nothing); members get reaction',
    requestParams: { path: messagePath },
    requestBody: body(reactionBody),
    responses: {
      '200': json(message, 'The message with its counts and your reactions'),
      ...errors(400, 401, 403, 404),
    },
  },
  'DELETE /conversations/{conversationId}/messages/{seq}/reactions/{emoji}': {
    summary: 'Remove your reaction (the emoji percent-encoded in the path)',
    requestParams: { path: messagePath.extend({ emoji }) },
    responses: {
      '200': json(message, 'The message with its counts and your reactions'),
      ...errors(400, 401, 403, 404),
    },
  },
  'POST /conversations/{conversationId}/messages': {
    summary: 'Send; the same clientMessageId again returns the stored message',
    requestParams: { path: path('conversationId') },
    requestBody: body(sendMessageBody),
    responses: {
      '201': json(message, 'Stored'),
      '200': json(message, 'A retry: the first stored copy'),
      ...errors(400, 401, 403, 404),
    },
  },
  'POST /conversations/{conversationId}/read': {
    summary: 'Move your read position forward',
    requestParams: { path: path('conversationId') },
    requestBody: body(markReadBody),
    responses: { '204': noContent, ...errors(400, 401, 403, 404) },
  },
  'GET /search/messages': {
    summary: 'Full-text search over your conversations (eventually consistent)',
    requestParams: { query: messagesSearchQuery },
    responses: { '200': json(items(z.object({ message })), 'Matches'), ...errors(400, 401, 403) },
  },
};

/**
 * Routes that keep no idempotency record (shared/http/handler.ts): the public ones have no caller to
 * scope a key to, and a record of a password change would hold a live token.
 */
const noIdempotencyRecord = new Set(['POST /auth/register', 'POST /auth/login', 'POST /auth/password']);

/** Errors any route can answer: the fronts' own (429, 431, 504) and dependency failures (503). */
const everyRoute = [429, 431, 500, 503, 504];
/** Errors of a request body: too large, or not JSON. */
const withBody = [413, 415];

const statusText: Record<number, string> = {
  400: 'invalid_request: the message names the field',
  401: 'unauthorized (missing, bad or expired token) or invalid_credentials',
  403: 'forbidden, not_a_member or not_friends',
  404: 'not_found',
  409: 'username_taken, already_friends, request_pending, version_conflict or idempotency_key_reused',
  413: 'payload_too_large: the body is over 64 KB (10 MB at the front)',
  415: 'unsupported_media_type: the body is not sent as application/json',
  429: 'throttled: retry after retryAfterMs (also the Retry-After header, in seconds); nothing was written',
  431: 'headers_too_large: the request headers are over 16 KB',
  500: 'internal',
  503: 'unavailable: a dependency is down; nothing was half-written, retry',
  504: 'timeout: the request did not finish in time; it may have taken effect, retry with the same Idempotency-Key',
};

/** Builds the OpenAPI 3.1 document of the HTTP API. */
export function openApiDocument(): ReturnType<typeof createDocument> {
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const [route, op] of Object.entries(httpOperations)) {
    const [method, pathname] = route.split(' ') as [string, string];
    const keyed = method !== 'GET' && !noIdempotencyRecord.has(route);
    const operationId = route
      .replace(/[{}]/g, '')
      .split(/[ /-]+/)
      .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1)))
      .join('');
    paths[pathname] ??= {};
    (paths[pathname] as Record<string, ZodOpenApiOperationObject>)[method.toLowerCase()] = {
      operationId,
      ...op,
      requestParams: keyed ? { ...op.requestParams, header: idempotencyKey } : op.requestParams,
      // The route's own answers win (GET /health describes its 503 itself).
      responses: { ...errors(...(op.requestBody ? withBody : []), ...everyRoute), ...op.responses },
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Chat backend HTTP API',
      version: API_VERSION,
      description:
        'JSON in and out. Errors always have the Error shape. See docs/protocol.md for the guarantees and ' +
        'what a client does about each error code; the WebSocket API is in asyncapi.json.',
    },
    servers: [{ url: 'http://127.0.0.1:3000', description: 'Local runtime (npm start)' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token from register or login' },
      },
      responses: Object.fromEntries(
        Object.entries(statusText).map(([status, description]) => [
          `Error${status}`,
          json(errorBody, description),
        ]),
      ),
    },
  });
}
