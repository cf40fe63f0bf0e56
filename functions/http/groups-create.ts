import { createGroup } from '#shared/domain/groups.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { groupBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /groups: the caller owns the new group; 201 when built at once, 202 when a saga builds it. */
export const handler = httpRoute({}, async (req) => {
  const { name, memberIds } = validate(groupBody, req.body);
  const result = await createGroup(req.userId, name, memberIds);
  if (result.kind === 'created') return json(201, result.conversation);
  // Too large for one transaction: a saga builds it; the operation tells how it ends.
  return json(202, { conversation: result.conversation, operation: result.operation });
});
