import { listFriendRequests } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { friendRequestsQuery } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /friend-requests?direction=incoming|outgoing */
export const handler = httpRoute({}, async (req) => {
  const { direction } = validate(friendRequestsQuery, req.query, 'query');
  return json(200, { items: await listFriendRequests(req.userId, direction) });
});
