import { react } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { emoji, id, seqParam } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** DELETE /conversations/{conversationId}/messages/{seq}/reactions/{emoji} (percent-encoded): 200 `Message`. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const seq = validate(seqParam, req.params.seq, 'seq');
  const reaction = validate(emoji, req.params.emoji, 'emoji');
  await limitSends(req.userId);
  return json(200, await react({ me: req.userId, conversationId, seq }, reaction, 'remove'));
});
