import { typing } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { typingFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `typing`: relayed to the other members, never stored; no answer on success. */
export const handler = wsRoute(
  async (req) => {
    await limitFrames(req.connectionId);
    await typing(req.userId, validate(typingFrame, req.frame, 'frame').conversationId);
    return undefined;
  },
  { oneWay: true },
);
