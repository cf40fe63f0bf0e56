import { createGroup } from '#shared/domain/groups.js';
import { groupBody } from '#shared/domain/schemas.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { validate } from '#shared/validation.js';

/** POST /groups: the caller owns the new group. */
export const handler = httpRoute({}, async (req) => {
  const { name, memberIds } = validate(groupBody, req.body);
  return json(201, await createGroup(req.userId, name, memberIds));
});
