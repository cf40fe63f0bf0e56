import { editMessage } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { requireTextWithinLimit } from '#shared/domain/text-limits.js';
import { editMessageFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `editMessage`: the sender edits; answered with `ack {message}`, the other connections get `messageEdited`. */
export const handler = wsRoute(async (req) => {
  const input = validate(editMessageFrame, req.frame, 'frame');
  requireTextWithinLimit(input.text);
  await limitSends(req.userId);
  const message = await editMessage(
    {
      me: req.userId,
      conversationId: input.conversationId,
      seq: input.seq,
      originConnectionId: req.connectionId,
    },
    input.text,
  );
  return { type: 'ack', message };
});
