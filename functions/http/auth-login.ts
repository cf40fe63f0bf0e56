import { login } from '#shared/domain/accounts.js';
import { loginBody } from '#shared/domain/schemas.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { validate } from '#shared/validation.js';

/** POST /auth/login */
export const handler = httpRoute({ public: true }, async ({ body }) => {
  const session = await login(validate(loginBody, body));
  return json(200, session);
});
