import { z } from 'zod';
import { clientMessageId, id, messageText, seq } from '../domain/schemas.js';

/**
 * The client frames of the WebSocket API, one schema per route (`action`). The route handlers validate
 * with these, and the AsyncAPI document is generated from them. Every frame may also carry `requestId`
 * (up to 128 characters), echoed in the answer.
 */
export const sendMessageFrame = z.object({ conversationId: id, clientMessageId, text: messageText });
export const markReadFrame = z.object({ conversationId: id, seq });
export const typingFrame = z.object({ conversationId: id });
export const syncFrame = z.object({
  conversationId: id,
  afterSeq: seq.default(0),
  limit: z.number().int().min(1).max(200).default(50),
});
/** `ping` carries nothing but the action. */
export const pingFrame = z.object({});
