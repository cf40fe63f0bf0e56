import { getMe } from '#shared/domain/accounts.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** GET /me */
export const handler = httpRoute({}, async ({ userId }) => json(200, await getMe(userId)));
