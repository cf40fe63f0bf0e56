import { unblockUser } from '#shared/domain/blocks.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** DELETE /blocks/{userId}: lifts the block (the friendship is not restored). */
export const handler = httpRoute({}, async (req) => {
  await unblockUser(req.userId, validate(id, req.params.userId, 'userId'));
  return json(204);
});
