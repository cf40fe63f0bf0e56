import { addMembers } from '#shared/domain/groups.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { addMembersBody, id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /conversations/{conversationId}/members (owner only). */
export const handler = httpRoute({}, async (req) => {
  const conversationId = validate(id, req.params.conversationId, 'conversationId');
  const { userIds } = validate(addMembersBody, req.body);
  return json(200, await addMembers(req.userId, conversationId, userIds));
});
