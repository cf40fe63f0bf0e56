import { listChanges } from '#shared/domain/message-changes.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { changesQuery, id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /conversations/{conversationId}/changes?afterChangeSeq=&limit=: messages changed since a token. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const { afterChangeSeq, limit } = validate(changesQuery, req.query, 'query');
  return json(200, await listChanges(req.userId, conversationId, afterChangeSeq, limit));
});
