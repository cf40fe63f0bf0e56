import { acceptFriendRequest } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /friend-requests/{requestId}/accept */
export const handler = httpRoute({}, async (req) => {
  const requestId = validate(id, req.params.requestId, 'requestId');
  return json(200, await acceptFriendRequest(req.userId, requestId));
});
