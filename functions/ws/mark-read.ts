import { z } from 'zod';
import { markRead } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { id, seq } from '#shared/domain/schemas.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

const frame = z.object({ conversationId: id, seq });

/** `markRead`: moves the read position forward and tells the other members. */
export const handler = wsRoute(
  async (req) => {
    await limitFrames(req.connectionId);
    const input = validate(frame, req.frame, 'frame');
    await markRead(req.userId, input.conversationId, input.seq);
    return { type: 'ack' };
  },
  { oneWay: true },
);
