import { react } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { reactFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `react`: adds or removes the caller's reaction; answered with `ack {message}`, the others get `reaction`. */
export const handler = wsRoute(async (req) => {
  const input = validate(reactFrame, req.frame, 'frame');
  await limitSends(req.userId);
  const message = await react(
    {
      me: req.userId,
      conversationId: input.conversationId,
      seq: input.seq,
      originConnectionId: req.connectionId,
    },
    input.emoji,
    input.op,
  );
  return { type: 'ack', message };
});
