import { getHistory } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { syncFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/** `sync`: the messages after a seq, to fill gaps after a reconnect. */
export const handler = wsRoute(async (req) => {
  await limitFrames(req.connectionId);
  const input = validate(syncFrame, req.frame, 'frame');
  const page = await getHistory(req.userId, input.conversationId, input.afterSeq, input.limit);
  return { type: 'sync', conversationId: input.conversationId, messages: page.items, hasMore: page.hasMore };
});
