import { markRead } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { markReadFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `markRead`: moves the read position forward and tells the other members. */
export const handler = wsRoute(
  async (req) => {
    await limitFrames(req.connectionId);
    const input = validate(markReadFrame, req.frame, 'frame');
    await markRead(req.userId, input.conversationId, input.seq);
    return { type: 'ack' };
  },
  { oneWay: true },
);
