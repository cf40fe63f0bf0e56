import { blockUser } from '#shared/domain/blocks.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /blocks/{userId}: blocks the user and ends a friendship with them in the same transaction. */
export const handler = httpRoute({}, async (req) => {
  await blockUser(req.userId, validate(id, req.params.userId, 'userId'));
  return json(204);
});
