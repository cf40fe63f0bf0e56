import { changePassword } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { changePasswordBody } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/**
 * POST /auth/password `{currentPassword, newPassword}`: revokes every token of the account, closes its
 * sockets and answers with a fresh session. No idempotency record (the body holds passwords).
 */
export const handler = httpRoute({ handlesCredentials: true }, async ({ userId, body }) => {
  const session = await changePassword(userId, validate(changePasswordBody, body));
  return json(200, session);
});
