import { closeFriendRequest } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /friend-requests/{requestId}/reject (recipient only). */
export const handler = httpRoute({}, async (req) => {
  await closeFriendRequest(req.userId, validate(id, req.params.requestId, 'requestId'), 'reject');
  return json(204);
});
