import { InvalidRequestError } from '#shared/errors.js';
import { wsRoute } from '#shared/ws/handler.js';

/** Frames whose `action` matches no route (or that are not JSON objects at all) land here. */
export const handler = wsRoute(async ({ frame }) => {
  const action = frame.action;
  throw new InvalidRequestError(
    typeof action === 'string' ? `action: unknown action "${action.slice(0, 64)}"` : 'action: missing',
  );
});
