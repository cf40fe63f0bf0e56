import { listConversations } from '#shared/domain/conversations.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** GET /conversations, most recent activity first. */
export const handler = httpRoute({}, async (req) =>
  json(200, { items: await listConversations(req.userId) }),
);
