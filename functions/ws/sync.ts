import { changesAfter } from '#shared/domain/message-changes.js';
import { getHistory } from '#shared/domain/messages.js';
import { limitFrames } from '#shared/domain/rate-limits.js';
import { syncFrame } from '#shared/protocol/frames.js';
import { validate } from '#shared/validation.js';
import { wsRoute } from '#shared/ws/handler.js';

/**
 * `sync`: the messages after a seq, to fill gaps after a reconnect; with `afterChangeSeq`, also the
 * messages edited, deleted or reacted to since then. `changeSeq` is the token for the next sync.
 */
export const handler = wsRoute(async (req) => {
  await limitFrames(req.connectionId);
  const input = validate(syncFrame, req.frame, 'frame');
  const page = await getHistory(req.userId, input.conversationId, input.afterSeq, input.limit);
  const changes =
    input.afterChangeSeq === undefined
      ? undefined
      : await changesAfter(
          req.userId,
          input.conversationId,
          input.afterChangeSeq,
          input.limit,
          page.changeSeq,
        );
  return {
    type: 'sync',
    conversationId: input.conversationId,
    messages: page.items,
    hasMore: page.hasMore,
    changeSeq: changes ? changes.changeSeq : page.changeSeq,
    ...(changes ? { changes: changes.items, changesHasMore: changes.hasMore } : {}),
  };
});
