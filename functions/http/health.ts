import { checkDependencies } from '#shared/domain/health.js';
import { AppError } from '#shared/errors.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/**
 * Liveness plus every dependency: 200 `{status: "ok", dependencies}` when all answer, else 503
 * `unavailable` in the error shape, with `dependencies` saying which one is down.
 */
export const handler = httpRoute({ public: true }, async () => {
  const dependencies = await checkDependencies();
  const down = Object.entries(dependencies).filter(([, status]) => status !== 'ok');
  if (down.length) {
    throw new AppError('unavailable', 503, `Unavailable: ${down.map(([name]) => name).join(', ')}`, {
      details: { dependencies },
    });
  }
  return json(200, { status: 'ok', dependencies });
});
