import { z } from 'zod';

/**
 * The objects of the public contract as they travel on the wire (answers and events). Handlers build
 * them from the domain types; the OpenAPI and AsyncAPI documents, and the client SDK's types, come from
 * these schemas. Each `id` becomes a named component of the published documents.
 */
const timestamp = z.string().meta({ description: 'ISO-8601 UTC timestamp', format: 'date-time' });
const opaqueId = z.string().meta({ description: 'Opaque id; clients must not parse it' });
/** `throttled` answers over HTTP and WebSocket alike: ms until a retry can pass. */
export const retryAfterMs = z
  .number()
  .int()
  .min(0)
  .optional()
  .meta({ description: 'throttled: when a retry can pass' });

export const user = z
  .object({
    userId: opaqueId,
    username: z.string(),
    displayName: z.string(),
    bio: z.string(),
    version: z.number().int().min(1).meta({ description: 'Optimistic-locking counter for PATCH /me' }),
    createdAt: timestamp,
  })
  .meta({ id: 'User' });

export const publicProfile = z
  .object({
    userId: opaqueId,
    username: z.string(),
    displayName: z.string(),
    bio: z.string(),
    deleted: z.literal(true).optional().meta({
      description: 'A deleted account: username and bio are empty, displayName is "Deleted account"',
    }),
  })
  .meta({ id: 'PublicProfile' });

/** Presence of a user (docs/protocol.md#presence); shown to friends and group co-members only. */
export const presence = z
  .object({
    status: z.enum(['online', 'offline']).meta({
      description: 'online: at least one open connection that showed life within the presence timeout',
    }),
    lastSeenAt: timestamp.nullable().meta({
      description: 'When last online; null while online or when never seen',
    }),
  })
  .meta({ id: 'Presence' });

/** `GET /users/{userId}`: the public profile, with presence when the caller may see it. */
export const userProfile = publicProfile
  .extend({
    presence: presence.optional().meta({ description: 'Only for friends and group co-members' }),
  })
  .meta({ id: 'UserProfile' });

export const friendRequest = z
  .object({
    requestId: opaqueId,
    fromUserId: opaqueId,
    toUserId: opaqueId,
    message: z.string(),
    status: z.enum(['pending', 'accepted', 'rejected', 'cancelled']),
    createdAt: timestamp,
  })
  .meta({ id: 'FriendRequest' });

/** A reply's parent: in history, sync and changes a short quote as it is now; in events only its seq. */
export const replyPreview = z
  .object({
    seq: z.number().int().min(1),
    senderId: opaqueId.optional(),
    text: z
      .string()
      .optional()
      .meta({ description: "The parent's first 100 characters; empty when deleted" }),
    deleted: z.literal(true).optional().meta({ description: 'The parent was deleted' }),
  })
  .meta({ id: 'ReplyPreview' });

export const message = z
  .object({
    conversationId: opaqueId,
    seq: z.number().int().min(1).meta({ description: 'Per-conversation order: 1, 2, 3, ... without gaps' }),
    messageId: opaqueId,
    senderId: opaqueId,
    clientMessageId: z.string(),
    text: z.string().meta({ description: 'Empty once the message is deleted' }),
    createdAt: timestamp,
    version: z.number().int().min(1).meta({ description: '1 when sent; each edit and the deletion add one' }),
    editedAt: timestamp.optional().meta({ description: 'Set by the latest edit' }),
    deletedAt: timestamp
      .optional()
      .meta({ description: 'A deleted message: the seq stays as a tombstone, the text is empty' }),
    replyTo: replyPreview.optional(),
    reactions: z
      .record(z.string(), z.number().int().min(1))
      .optional()
      .meta({ description: 'Reaction counts by emoji; absent when there are none' }),
    myReactions: z
      .array(z.string())
      .optional()
      .meta({ description: "The reader's own reactions (history, sync and changes; absent when none)" }),
    changeSeq: z.number().int().min(1).optional().meta({
      description: "The conversation's change number of this message's latest edit, deletion or reaction",
    }),
  })
  .meta({ id: 'Message' });

/** A page of changes since a change token (GET .../changes, and `sync` with afterChangeSeq). */
export const changesPage = z
  .object({
    items: z
      .array(message)
      .meta({ description: 'Changed messages as they are now, each once, by latest change' }),
    changeSeq: z.number().int().min(0).meta({ description: 'Ask from here next time (afterChangeSeq)' }),
    hasMore: z.boolean(),
  })
  .meta({ id: 'ChangesPage' });

/** A page of history with the change token read before it. */
export const historyPage = z
  .object({
    items: z.array(message),
    hasMore: z.boolean(),
    changeSeq: z.number().int().min(0).meta({
      description: 'Change token: GET .../changes?afterChangeSeq= from it returns every later change',
    }),
  })
  .meta({ id: 'HistoryPage' });

export const conversation = z
  .object({
    conversationId: opaqueId,
    type: z.enum(['direct', 'group']),
    name: z.string().nullable(),
    memberCount: z.number().int().min(0),
    lastSeq: z.number().int().min(0),
    lastMessage: message.nullable(),
    lastReadSeq: z.number().int().min(0),
    unreadCount: z.number().int().min(0),
    status: z.enum(['active', 'creating', 'closed', 'failed']),
    peer: publicProfile.optional().meta({ description: 'Direct conversations: the other person' }),
    lastActivityAt: timestamp,
  })
  .meta({ id: 'Conversation' });

export const member = z
  .object({ userId: opaqueId, role: z.enum(['owner', 'member']), joinedAt: timestamp })
  .meta({ id: 'Member' });

export const conversationDetail = conversation
  .extend({ members: z.array(member) })
  .meta({ id: 'ConversationDetail' });

export const operation = z
  .object({
    operationId: opaqueId,
    type: z.enum(['createGroup', 'deleteAccount']),
    status: z.enum(['running', 'succeeded', 'failed', 'compensated']),
    error: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Operation' });

export const session = z
  .object({ user, token: z.string(), expiresAt: timestamp })
  .meta({ id: 'Session', description: 'A signed-in user: the bearer token and when it expires' });

export const friendAccepted = z
  .object({ friend: publicProfile, conversationId: opaqueId })
  .meta({ id: 'FriendAccepted' });

export const friend = z
  .object({ user: publicProfile, conversationId: opaqueId, since: timestamp, presence })
  .meta({ id: 'Friend' });

export const block = z
  .object({ user: publicProfile, since: timestamp.meta({ description: 'When you blocked them' }) })
  .meta({ id: 'Block' });

const dependencyStatus = z.enum(['ok', 'unavailable']);

/** What `GET /health` found for each dependency (shared/domain/health.ts). */
export const dependencyReport = z
  .object({ database: dependencyStatus, search: dependencyStatus, sendQueue: dependencyStatus })
  .meta({ id: 'DependencyReport' });

export const health = z
  .object({ status: z.literal('ok'), dependencies: dependencyReport })
  .meta({ id: 'Health' });

/** One page of a paginated list (shared/domain/pagination.ts): `nextCursor` is null on the last page. */
export const page = <S extends z.ZodType>(item: S) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as ?cursor= for the next page; null on the last page' }),
  });

export const friendsPage = page(friend).meta({ id: 'FriendsPage' });
export const blocksPage = page(block).meta({ id: 'BlocksPage' });
export const conversationsPage = page(conversation).meta({ id: 'ConversationsPage' });

/** Every error code the API reports, by HTTP status (see docs/protocol.md for what a client does). */
export const errorCodes = {
  invalid_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_a_member: 403,
  not_friends: 403,
  not_found: 404,
  username_taken: 409,
  already_friends: 409,
  request_pending: 409,
  version_conflict: 409,
  idempotency_key_reused: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  throttled: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof errorCodes;
export const errorCode = z
  .enum(Object.keys(errorCodes) as [ErrorCode, ...ErrorCode[]])
  .meta({ id: 'ErrorCode' });

export const errorBody = z
  .object({
    error: z
      .object({
        code: errorCode,
        message: z.string(),
        requestId: z.string(),
        field: z.string().optional().meta({ description: 'invalid_request: the offending field' }),
        retryAfterMs,
        currentVersion: z.number().int().optional().meta({ description: 'version_conflict' }),
        missing: z
          .array(z.string())
          .optional()
          .meta({ description: 'not_found on POST /groups: unknown ids' }),
        dependencies: dependencyReport
          .optional()
          .meta({ description: 'unavailable on GET /health: which dependency is down' }),
      })
      .loose(),
  })
  .meta({ id: 'Error' });
