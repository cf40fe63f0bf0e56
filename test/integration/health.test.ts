// A search endpoint where nothing listens, for this file's process only: the health check must say so.
process.env.SEARCH_ENDPOINT = 'http://127.0.0.1:9';

import { describe, expect, it } from 'vitest';
import { handler as health } from '../../functions/http/health.js';
import { call, httpEvent } from '../support/lambda.js';

describe('GET /health', () => {
  it('answers 503 in the error shape and names the dependency that is down', async () => {
    const res = await call(health, httpEvent('GET /health', '/health'));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({
      code: 'unavailable',
      dependencies: { database: 'ok', search: 'unavailable', sendQueue: 'ok' },
    });
  });
});
