import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { usersSearchQuery } from '#shared/protocol/requests.js';
import { searchUsers } from '#shared/search/queries.js';
import { validate } from '#shared/validation.js';

/** GET /users?q=&limit= */
export const handler = httpRoute({}, async (req) => {
  const { q, limit } = validate(usersSearchQuery, req.query, 'query');
  return json(200, { items: await searchUsers(q, limit) });
});
