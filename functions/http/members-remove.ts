import { removeMember } from '#shared/domain/groups.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** DELETE /conversations/{conversationId}/members/{userId}: leave (self) or remove (owner). */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  await removeMember(req.userId, conversationId, validate(id, req.params.userId, 'userId'));
  return json(204);
});
