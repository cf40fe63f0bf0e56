import { sendFriendRequest } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { friendRequestBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /friend-requests: 201 with the request, or 200 when it accepted theirs. */
export const handler = httpRoute({}, async (req) => {
  const { toUserId, message } = validate(friendRequestBody, req.body);
  const result = await sendFriendRequest(req.userId, toUserId, message ?? '');
  if (result.kind === 'created') return json(201, result.request);
  return json(200, { status: 'accepted', ...result.accepted });
});
