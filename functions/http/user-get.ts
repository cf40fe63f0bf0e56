import { getProfile } from '#shared/domain/accounts.js';
import { id } from '#shared/domain/schemas.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { validate } from '#shared/validation.js';

/** GET /users/{userId} */
export const handler = httpRoute({}, async ({ params }) =>
  json(200, await getProfile(validate(id, params.userId, 'userId'))),
);
