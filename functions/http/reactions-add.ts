import { react } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id, reactionBody, seqParam } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /conversations/{conversationId}/messages/{seq}/reactions `{emoji}`: 200 `Message` with the counts. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const seq = validate(seqParam, req.params.seq, 'seq');
  const { emoji } = validate(reactionBody, req.body);
  await limitSends(req.userId);
  return json(200, await react({ me: req.userId, conversationId, seq }, emoji, 'add'));
});
