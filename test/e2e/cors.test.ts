import { describe, expect, it } from 'vitest';
import { LOCAL_WEB_ORIGINS } from '#infra/stage.js';
import { httpUrl } from '../support/clients.js';

// The dev stage (which the local runtime runs) allows the local web client's origins.
const allowed = LOCAL_WEB_ORIGINS[0];
const foreign = 'https://evil.example';

const preflight = (origin: string, method = 'POST', headers = 'content-type,authorization') =>
  fetch(`${httpUrl()}/auth/login`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS on the HTTP API', () => {
  it('answers the preflight of an allowed origin without a token, allowing the API headers', async () => {
    const res = await preflight(allowed);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(res.headers.get('access-control-allow-methods')?.toUpperCase()).toContain('POST');
    const headers = res.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    for (const h of ['authorization', 'content-type', 'idempotency-key']) expect(headers).toContain(h);
  });

  it('a preflight on an authorized route needs no token either', async () => {
    const res = await fetch(`${httpUrl()}/conversations`, {
      method: 'OPTIONS',
      headers: {
        origin: allowed,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed);
  });

  it('allows nothing to another origin', async () => {
    const res = await preflight(foreign);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const answer = await fetch(`${httpUrl()}/health`, { headers: { origin: foreign } });
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks answers for an allowed origin, errors included, and exposes Retry-After', async () => {
    const ok = await fetch(`${httpUrl()}/health`, { headers: { origin: allowed } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(ok.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('retry-after');
    const refused = await fetch(`${httpUrl()}/me`, { headers: { origin: allowed } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });
});
