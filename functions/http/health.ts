import { pingDatabase } from '#shared/data/health-repo.js';
import { UnavailableError } from '#shared/errors.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';

/** Liveness plus a DynamoDB round trip; 503 when the database does not answer. */
export const handler = httpRoute({ public: true }, async () => {
  try {
    await pingDatabase();
  } catch (err) {
    throw new UnavailableError('Database unavailable', err);
  }
  return json(200, { status: 'ok' });
});
