import { getProfile } from '#shared/domain/accounts.js';
import { maySeePresence, presenceOf } from '#shared/domain/presence.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { id } from '#shared/protocol/requests.js';
import { validate } from '#shared/validation.js';

/** GET /users/{userId}: the public profile, with `presence` for friends and group co-members only. */
export const handler = httpRoute({}, async ({ params, userId: viewer }) => {
  const userId = validate(id, params.userId, 'userId');
  const profile = await getProfile(userId);
  if (!(await maySeePresence(viewer, userId))) return json(200, profile);
  return json(200, { ...profile, presence: (await presenceOf([userId])).get(userId) });
});
