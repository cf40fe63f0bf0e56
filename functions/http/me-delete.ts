import { deleteAccount } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** DELETE /me: 202 with the operation that erases the account. */
export const handler = httpRoute({}, async ({ userId }) => json(202, await deleteAccount(userId)));
