import { logout } from '#shared/domain/accounts.js';
import { UnauthorizedError } from '#shared/errors.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** POST /auth/logout: revokes the token of this request and closes the sockets opened with it. */
export const handler = httpRoute({}, async ({ userId, token }) => {
  if (!token) throw new UnauthorizedError();
  await logout(userId, token);
  return json(204);
});
