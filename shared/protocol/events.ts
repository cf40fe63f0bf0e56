import { z } from 'zod';
import type { SessionEndReason } from '../domain/sessions.js';
import { conversation, errorCode, friendAccepted, friendRequest, message, retryAfterMs } from './objects.js';

/**
 * Every frame the server sends on the WebSocket: answers to the calling connection (`ack`, `sync`,
 * `pong`, `error`) and events pushed to a user's connections. `requestId` echoes the client frame's.
 */
const requestId = z.string().optional().meta({ description: "Echo of the client frame's requestId" });
const opaqueId = z.string();

export const ackEvent = z
  .object({
    type: z.literal('ack'),
    clientMessageId: z.string().optional().meta({ description: 'sendMessage: the id the client chose' }),
    message: message.optional().meta({
      description:
        'sendMessage: the stored message (first copy on a retry); editMessage and react: the message after the change',
    }),
    requestId,
  })
  .meta({
    id: 'AckEvent',
    description:
      'Answer to sendMessage, editMessage and react (with the message), markRead and deleteMessage',
  });

export const syncEvent = z
  .object({
    type: z.literal('sync'),
    conversationId: opaqueId,
    messages: z.array(message),
    hasMore: z.boolean(),
    changeSeq: z
      .number()
      .int()
      .min(0)
      .meta({ description: 'Change token: pass as afterChangeSeq in the next sync of this conversation' }),
    changes: z.array(message).optional().meta({
      description:
        'With afterChangeSeq: messages edited, deleted or reacted to since then, as they are now, by latest change',
    }),
    changesHasMore: z
      .boolean()
      .optional()
      .meta({ description: 'More changes follow: sync again with afterChangeSeq = changeSeq' }),
    requestId,
  })
  .meta({
    id: 'SyncEvent',
    description:
      'Answer to sync: messages after afterSeq, ascending by seq, and changes after afterChangeSeq',
  });

export const pongEvent = z.object({ type: z.literal('pong'), requestId }).meta({ id: 'PongEvent' });

export const errorEvent = z
  .object({
    type: z.literal('error'),
    code: errorCode,
    message: z.string(),
    clientMessageId: z.string().optional().meta({ description: 'A refused sendMessage' }),
    retryAfterMs,
    field: z.string().optional(),
    requestId,
  })
  .loose()
  .meta({ id: 'ErrorEvent', description: 'A refused or malformed frame; the connection stays open' });

export const messageEvent = z
  .object({ type: z.literal('message'), message })
  .meta({ id: 'MessageEvent', description: 'A new message in one of your conversations (at least once)' });

export const messageEditedEvent = z
  .object({ type: z.literal('messageEdited'), message })
  .meta({ id: 'MessageEditedEvent', description: 'A message was edited: same seq, new text and version' });

export const messageDeletedEvent = z
  .object({
    type: z.literal('messageDeleted'),
    conversationId: opaqueId,
    seq: z.number().int().min(1),
    messageId: opaqueId,
    deletedAt: z.string(),
    version: z.number().int().min(1),
    changeSeq: z.number().int().min(1),
  })
  .meta({ id: 'MessageDeletedEvent', description: 'A message was deleted: its seq stays as a tombstone' });

export const reactionEvent = z
  .object({
    type: z.literal('reaction'),
    conversationId: opaqueId,
    seq: z.number().int().min(1),
    userId: opaqueId.meta({ description: 'Who reacted' }),
    emoji: z.string(),
    op: z.enum(['add', 'remove']),
    reactions: z.record(z.string(), z.number().int().min(1)).meta({ description: 'The counts after it' }),
    changeSeq: z.number().int().min(1),
  })
  .meta({ id: 'ReactionEvent', description: 'A member added or removed a reaction' });

export const readEvent = z
  .object({
    type: z.literal('read'),
    conversationId: opaqueId,
    userId: opaqueId,
    seq: z.number().int().min(0),
  })
  .meta({ id: 'ReadEvent', description: 'Another member read up to seq' });

export const typingEvent = z
  .object({ type: z.literal('typing'), conversationId: opaqueId, userId: opaqueId })
  .meta({ id: 'TypingEvent', description: 'Another member is typing (not stored)' });

export const presenceEvent = z
  .object({
    type: z.literal('presence'),
    userId: opaqueId,
    status: z.enum(['online', 'offline']),
    lastSeenAt: z.string().nullable().meta({ description: 'When last online (offline only), ISO-8601' }),
    version: z.number().int().min(1).meta({
      description: 'Advances with each change of this user: keep the highest, ignore older ones',
    }),
  })
  .meta({
    id: 'PresenceEvent',
    description: "A friend's first connection opened (online) or last one closed or expired (offline)",
  });

export const friendRequestEvent = z
  .object({ type: z.literal('friendRequest'), request: friendRequest })
  .meta({ id: 'FriendRequestEvent' });

export const friendAcceptedEvent = friendAccepted
  .extend({ type: z.literal('friendAccepted') })
  .meta({ id: 'FriendAcceptedEvent' });

export const conversationCreatedEvent = z
  .object({ type: z.literal('conversationCreated'), conversation })
  .meta({ id: 'ConversationCreatedEvent' });

export const memberJoinedEvent = z
  .object({ type: z.literal('memberJoined'), conversationId: opaqueId, userId: opaqueId })
  .meta({ id: 'MemberJoinedEvent' });

export const memberLeftEvent = z
  .object({ type: z.literal('memberLeft'), conversationId: opaqueId, userId: opaqueId })
  .meta({ id: 'MemberLeftEvent' });

const sessionEndReasons = ['token_expired', 'token_revoked', 'account_closed'] as const;
// Fails to compile when the domain's reasons and the published ones part ways (either direction).
const sameReasons: [SessionEndReason, (typeof sessionEndReasons)[number]] extends [
  (typeof sessionEndReasons)[number],
  SessionEndReason,
]
  ? true
  : never = true;
void sameReasons;

export const sessionEndedEvent = z
  .object({
    type: z.literal('sessionEnded'),
    reason: z.enum(sessionEndReasons).meta({
      description:
        'token_expired: sign in again; token_revoked: logout or password change; account_closed: deleted',
    }),
  })
  .meta({
    id: 'SessionEndedEvent',
    description:
      'The session behind this connection ended; the server closes the connection right after (code 1000). ' +
      'Reconnect only with a new token',
  });

/** Any frame the server sends, told apart by `type`. */
export const serverFrame = z.discriminatedUnion('type', [
  ackEvent,
  syncEvent,
  pongEvent,
  errorEvent,
  messageEvent,
  messageEditedEvent,
  messageDeletedEvent,
  reactionEvent,
  readEvent,
  typingEvent,
  presenceEvent,
  friendRequestEvent,
  friendAcceptedEvent,
  conversationCreatedEvent,
  memberJoinedEvent,
  memberLeftEvent,
  sessionEndedEvent,
]);
export type ServerFrame = z.output<typeof serverFrame>;
