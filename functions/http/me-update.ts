import { updateMe } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { updateMeBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** PATCH /me with optimistic locking on `expectedVersion`. */
export const handler = httpRoute({}, async ({ userId, body }) => {
  const { expectedVersion, ...changes } = validate(updateMeBody, body);
  return json(200, await updateMe(userId, changes, expectedVersion));
});
