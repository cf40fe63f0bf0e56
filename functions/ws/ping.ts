import { wsRoute } from '#shared/ws/handler.js';

/** Liveness over the socket. */
export const handler = wsRoute(async () => ({ type: 'pong' }));
