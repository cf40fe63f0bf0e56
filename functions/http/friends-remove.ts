import { removeFriend } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** DELETE /friends/{userId}: both directions at once; the conversation keeps its history. */
export const handler = httpRoute({}, async (req) => {
  await removeFriend(req.userId, validate(id, req.params.userId, 'userId'));
  return json(204);
});
