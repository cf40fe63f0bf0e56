import { z } from 'zod';
import { clientMessageId, emoji, id, messageText, replyTo, seq } from './requests.js';

/**
 * The client frames of the WebSocket API, one schema per route (`action`). The route handlers validate
 * with these, and the AsyncAPI document is generated from them. Every frame may also carry `requestId`
 * (up to 128 characters), echoed in the answer.
 */
export const sendMessageFrame = z.object({
  conversationId: id,
  clientMessageId,
  text: messageText,
  previousAcked: z
    .boolean()
    .optional()
    .meta({
      description:
        'true when every earlier sendMessage of this connection to this conversation (other than copies of this ' +
        'clientMessageId) has been answered (ack or error): ' +
        'the server then commits the frame without waiting out its reorder window (docs/messaging.md). ' +
        'A client that sets it while sends are still unanswered only puts its own messages out of order.',
    }),
  replyTo: replyTo.optional(),
});
const messageSeq = z.number().int().min(1);
export const editMessageFrame = z.object({ conversationId: id, seq: messageSeq, text: messageText });
export const deleteMessageFrame = z.object({ conversationId: id, seq: messageSeq });
export const reactFrame = z.object({
  conversationId: id,
  seq: messageSeq,
  emoji,
  op: z.enum(['add', 'remove']).default('add').meta({ description: 'add (default) or remove your reaction' }),
});
export const markReadFrame = z.object({ conversationId: id, seq });
export const typingFrame = z.object({ conversationId: id });
export const syncFrame = z.object({
  conversationId: id,
  afterSeq: seq.default(0),
  limit: z.number().int().min(1).max(200).default(50),
  afterChangeSeq: seq
    .optional()
    .meta({ description: 'The changeSeq of the last sync or history page: also return later changes' }),
});
/** `ping` carries nothing but the action. */
export const pingFrame = z.object({});
