import { z } from 'zod';
import { getHistory } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { id, seq } from '#shared/domain/schemas.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

const frame = z.object({
  conversationId: id,
  afterSeq: seq.default(0),
  limit: z.number().int().min(1).max(200).default(50),
});

/** `sync`: the messages after a seq, to fill gaps after a reconnect. */
export const handler = wsRoute(async (req) => {
  await limitFrames(req.connectionId);
  const input = validate(frame, req.frame, 'frame');
  const page = await getHistory(req.userId, input.conversationId, input.afterSeq, input.limit);
  return { type: 'sync', conversationId: input.conversationId, messages: page.items, hasMore: page.hasMore };
});
