import { login } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { loginBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** POST /auth/login: throttled per username and per source address (429 `throttled`). */
export const handler = httpRoute({ public: true, handlesCredentials: true }, async ({ body, event }) => {
  const session = await login(validate(loginBody, body), event.requestContext.http.sourceIp);
  return json(200, session);
});
