import { listFriends } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** GET /friends */
export const handler = httpRoute({}, async (req) => json(200, { items: await listFriends(req.userId) }));
