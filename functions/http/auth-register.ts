import { register } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { registerBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /auth/register */
export const handler = httpRoute({ public: true, handlesCredentials: true }, async ({ body }) => {
  const session = await register(validate(registerBody, body));
  return json(201, session);
});
