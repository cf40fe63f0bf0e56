import { listFriends } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { pageQuery } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /friends?limit=&cursor=, oldest friendship first: `{items, nextCursor}`. */
export const handler = httpRoute({}, async (req) =>
  json(200, await listFriends(req.userId, validate(pageQuery, req.query, 'query'))),
);
