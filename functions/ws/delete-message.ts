import { deleteMessage } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { deleteMessageFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `deleteMessage`: the sender or a group's owner; answered with `ack`, the others get `messageDeleted`. */
export const handler = wsRoute(async (req) => {
  const input = validate(deleteMessageFrame, req.frame, 'frame');
  await limitSends(req.userId);
  await deleteMessage({
    me: req.userId,
    conversationId: input.conversationId,
    seq: input.seq,
    originConnectionId: req.connectionId,
  });
  return { type: 'ack' };
});
