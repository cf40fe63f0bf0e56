import type { z } from 'zod';
import type * as events from '../../shared/protocol/events.js';
import type * as objects from '../../shared/protocol/objects.js';

// Type-only imports: the wire types come from the schemas the backend validates with and publishes,
// and nothing of zod or the backend reaches the SDK's bundle.

export type User = z.output<typeof objects.user>;
export type PublicProfile = z.output<typeof objects.publicProfile>;
export type FriendRequest = z.output<typeof objects.friendRequest>;
export type Message = z.output<typeof objects.message>;
export type Conversation = z.output<typeof objects.conversation>;
export type ConversationDetail = z.output<typeof objects.conversationDetail>;
export type Member = z.output<typeof objects.member>;
export type Operation = z.output<typeof objects.operation>;
export type Session = z.output<typeof objects.session>;
export type Friend = z.output<typeof objects.friend>;
export type FriendAccepted = z.output<typeof objects.friendAccepted>;
export type Presence = z.output<typeof objects.presence>;
export type UserProfile = z.output<typeof objects.userProfile>;
export type Block = z.output<typeof objects.block>;
export type Health = z.output<typeof objects.health>;
/** One page of a paginated list; pass `nextCursor` back for the next one (null on the last page). */
export type Page<T> = { items: T[]; nextCursor: string | null };
export type ErrorCode = objects.ErrorCode;
export type ErrorBody = z.output<typeof objects.errorBody>;

export type ServerFrame = events.ServerFrame;
export type AckEvent = z.output<typeof events.ackEvent>;
export type SyncEvent = z.output<typeof events.syncEvent>;
export type ErrorEvent = z.output<typeof events.errorEvent>;
export type ReadEvent = z.output<typeof events.readEvent>;
export type MessageEditedEvent = z.output<typeof events.messageEditedEvent>;
export type MessageDeletedEvent = z.output<typeof events.messageDeletedEvent>;
export type ReactionEvent = z.output<typeof events.reactionEvent>;
export type ReplyPreview = z.output<typeof objects.replyPreview>;
export type ChangesPage = z.output<typeof objects.changesPage>;
export type HistoryPage = z.output<typeof objects.historyPage>;
export type TypingEvent = z.output<typeof events.typingEvent>;
export type PresenceEvent = z.output<typeof events.presenceEvent>;
export type FriendRequestEvent = z.output<typeof events.friendRequestEvent>;
export type FriendAcceptedEvent = z.output<typeof events.friendAcceptedEvent>;
export type ConversationCreatedEvent = z.output<typeof events.conversationCreatedEvent>;
export type MemberJoinedEvent = z.output<typeof events.memberJoinedEvent>;
export type MemberLeftEvent = z.output<typeof events.memberLeftEvent>;
export type SessionEndedEvent = z.output<typeof events.sessionEndedEvent>;
