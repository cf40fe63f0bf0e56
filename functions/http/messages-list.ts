import { getHistory } from '#shared/domain/messages.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { historyQuery, id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /conversations/{conversationId}/messages?afterSeq=&limit= */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const { afterSeq, limit } = validate(historyQuery, req.query, 'query');
  return json(200, await getHistory(req.userId, conversationId, afterSeq, limit));
});
