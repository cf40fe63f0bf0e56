import { z } from 'zod';
import { listFriendRequests } from '#shared/domain/friends.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { validate } from '#shared/validation.js';

const query = z.object({ direction: z.enum(['incoming', 'outgoing']).default('incoming') });

/** GET /friend-requests?direction=incoming|outgoing */
export const handler = httpRoute({}, async (req) => {
  const { direction } = validate(query, req.query, 'query');
  return json(200, { items: await listFriendRequests(req.userId, direction) });
});
