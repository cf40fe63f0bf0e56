import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { messagesSearchQuery } from '#shared/protocol/requests.js';
import { searchMessages } from '#shared/search/queries.js';
import { validate } from '#shared/validation.js';

/** GET /search/messages?q=&conversationId=&limit= */
export const handler = httpRoute({}, async (req) => {
  const query = validate(messagesSearchQuery, req.query, 'query');
  return json(200, { items: await searchMessages(req.userId, query) });
});
