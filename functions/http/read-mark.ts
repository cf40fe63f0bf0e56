import { markRead } from '#shared/domain/messages.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id, markReadBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /conversations/{conversationId}/read: the read position only moves forward. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  await markRead(req.userId, conversationId, validate(markReadBody, req.body).seq);
  return json(204);
});
