import { deleteMessage } from '#shared/domain/message-changes.js';
import { limitSends } from '#shared/domain/rate-limits.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id, seqParam } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** DELETE /conversations/{conversationId}/messages/{seq}: the sender or a group's owner; 204, tombstone kept. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const seq = validate(seqParam, req.params.seq, 'seq');
  await limitSends(req.userId);
  await deleteMessage({ me: req.userId, conversationId, seq });
  return json(204);
});
