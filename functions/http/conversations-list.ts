import { listConversations } from '#shared/domain/conversations.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { pageQuery } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /conversations?limit=&cursor=, most recent activity first: `{items, nextCursor}`. */
export const handler = httpRoute({}, async (req) =>
  json(200, await listConversations(req.userId, validate(pageQuery, req.query, 'query'))),
);
