import { listBlockedUsers } from '#shared/domain/blocks.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { pageQuery } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /blocks?limit=&cursor=, most recent first: `{items: [{user, since}], nextCursor}`. */
export const handler = httpRoute({}, async (req) =>
  json(200, await listBlockedUsers(req.userId, validate(pageQuery, req.query, 'query'))),
);
