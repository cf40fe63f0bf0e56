import { getConversationDetails } from '#shared/domain/groups.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /conversations/{conversationId} with its members. */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  return json(200, await getConversationDetails(req.userId, conversationId));
});
