import { z } from 'zod';
import { typing } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { id } from '#shared/domain/schemas.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

const frame = z.object({ conversationId: id });

/** `typing`: relayed to the other members, never stored; no answer on success. */
export const handler = wsRoute(
  async (req) => {
    await limitFrames(req.connectionId);
    await typing(req.userId, validate(frame, req.frame, 'frame').conversationId);
    return undefined;
  },
  { oneWay: true },
);
