import { NotFoundError } from '#shared/errors.js';
import { httpRoute } from '#shared/http/handler.js';

/** Catch-all route, so unknown paths get the contract's error shape rather than API Gateway's. */
export const handler = httpRoute({ public: true }, async (req) => {
  throw new NotFoundError(`No route for ${req.event.requestContext.http.method} ${req.event.rawPath}`);
});
