import { z } from 'zod';
import { createSchema } from 'zod-openapi';
import * as events from './events.js';
import {
  deleteMessageFrame,
  editMessageFrame,
  markReadFrame,
  pingFrame,
  reactFrame,
  sendMessageFrame,
  syncFrame,
  typingFrame,
} from './frames.js';
import { API_VERSION } from './openapi.js';

const requestId = z.string().max(128).optional().meta({ description: 'Echoed in the answer to this frame' });
const clientFrame = <S extends z.ZodObject>(action: string, schema: S, description: string) =>
  schema.extend({ action: z.literal(action), requestId }).meta({ id: `${action}Frame`, description });

/** Client frames by action, each with the answers it gets (none for `typing` unless refused). */
const actions = {
  sendMessage: {
    frame: clientFrame(
      'sendMessage',
      sendMessageFrame,
      'Send a message; retry with the same clientMessageId',
    ),
    replies: ['ack', 'error'],
  },
  editMessage: {
    frame: clientFrame('editMessage', editMessageFrame, 'Edit your message (sender only)'),
    replies: ['ack', 'error'],
  },
  deleteMessage: {
    frame: clientFrame('deleteMessage', deleteMessageFrame, "Delete a message (sender or group's owner)"),
    replies: ['ack', 'error'],
  },
  react: {
    frame: clientFrame('react', reactFrame, 'Add or remove your reaction (one of each emoji per message)'),
    replies: ['ack', 'error'],
  },
  markRead: {
    frame: clientFrame('markRead', markReadFrame, 'Move your read position forward'),
    replies: ['ack', 'error'],
  },
  typing: {
    frame: clientFrame('typing', typingFrame, 'Tell the other members you are typing'),
    replies: ['error'],
  },
  sync: {
    frame: clientFrame(
      'sync',
      syncFrame,
      'Messages after afterSeq and changes after afterChangeSeq (fill gaps, catch up after a reconnect)',
    ),
    replies: ['sync', 'error'],
  },
  ping: {
    frame: clientFrame('ping', pingFrame, 'Keep-alive under the 10-minute idle timeout'),
    replies: ['pong'],
  },
} as const;

/** Server frames by `type`. */
const serverFrames = {
  ack: events.ackEvent,
  sync: events.syncEvent,
  pong: events.pongEvent,
  error: events.errorEvent,
  message: events.messageEvent,
  messageEdited: events.messageEditedEvent,
  messageDeleted: events.messageDeletedEvent,
  reaction: events.reactionEvent,
  read: events.readEvent,
  typing: events.typingEvent,
  presence: events.presenceEvent,
  friendRequest: events.friendRequestEvent,
  friendAccepted: events.friendAcceptedEvent,
  conversationCreated: events.conversationCreatedEvent,
  memberJoined: events.memberJoinedEvent,
  memberLeft: events.memberLeftEvent,
  sessionEnded: events.sessionEndedEvent,
} as const;

/** Events pushed without a client frame asking for them. */
const pushed = [
  'message',
  'messageEdited',
  'messageDeleted',
  'reaction',
  'read',
  'typing',
  'presence',
  'friendRequest',
  'friendAccepted',
  'conversationCreated',
  'memberJoined',
  'memberLeft',
  'sessionEnded',
] as const;

/** Builds the AsyncAPI 3.0 document of the WebSocket API from the frame and event schemas. */
export function asyncApiDocument(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output') => {
    const result = createSchema(schema, { io });
    Object.assign(schemas, result.components);
    return result.schema;
  };
  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, unknown> = {};
  const ref = (name: string) => ({ $ref: `#/channels/chat/messages/${name}` });
  for (const [action, { frame }] of Object.entries(actions)) {
    messages[`${action}Frame`] = {
      name: action,
      title: `${action} (client)`,
      payload: schemaOf(frame, 'input'),
    };
  }
  for (const [type, schema] of Object.entries(serverFrames)) {
    messages[`${type}Event`] = { name: type, title: `${type} (server)`, payload: schemaOf(schema, 'output') };
  }
  for (const name of Object.keys(messages)) channelMessages[name] = { $ref: `#/components/messages/${name}` };

  const operations: Record<string, unknown> = {};
  for (const [action, { replies }] of Object.entries(actions)) {
    operations[action] = {
      action: 'send',
      channel: { $ref: '#/channels/chat' },
      messages: [ref(`${action}Frame`)],
      reply: { channel: { $ref: '#/channels/chat' }, messages: replies.map((r) => ref(`${r}Event`)) },
    };
  }
  for (const type of pushed) {
    operations[`on${type.charAt(0).toUpperCase()}${type.slice(1)}`] = {
      action: 'receive',
      channel: { $ref: '#/channels/chat' },
      messages: [ref(`${type}Event`)],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chat backend WebSocket API',
      version: API_VERSION,
      description:
        'JSON text frames of at most 32 KB. Client frames are routed on `action`; server frames carry `type`. ' +
        'API Gateway closes a connection idle for 10 minutes and any connection after 2 hours. ' +
        'See docs/protocol.md for reconnecting, catching up with sync and de-duplicating by (conversationId, seq).',
    },
    servers: {
      local: {
        host: '127.0.0.1:3001',
        protocol: 'ws',
        description: 'Local runtime (npm start); on AWS the stack output WebSocketUrl',
        security: [{ $ref: '#/components/securitySchemes/token' }],
      },
    },
    defaultContentType: 'application/json',
    channels: {
      chat: {
        address: '/',
        description:
          'The connections of a client. The upgrade is refused with HTTP 401 for a bad, missing, expired or ' +
          'revoked token, and with HTTP 429 when the user already holds the maximum of open connections ' +
          '(10 by default). A `sessionEnded` frame precedes a close by the server (logout, password change, ' +
          'expired token, deleted account)',
        messages: channelMessages,
        bindings: {
          ws: {
            query: {
              type: 'object',
              properties: {
                token: { type: 'string', description: 'The bearer token from register or login' },
              },
              required: ['token'],
            },
          },
        },
      },
    },
    operations,
    components: {
      messages,
      schemas,
      securitySchemes: {
        token: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description: 'The token from register or login',
        },
      },
    },
  };
}
