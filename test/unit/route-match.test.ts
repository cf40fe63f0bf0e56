import { describe, expect, it } from 'vitest';
import { compileHttpRoutes } from '#local/route-match.js';
import type { RouteBinding } from '#local/topology.js';

const route = (routeKey: string): RouteBinding => ({ routeKey, functionId: routeKey, returnResponse: false });

describe('HTTP route selection', () => {
  const match = compileHttpRoutes(
    ['GET /users/{userId}', 'GET /users/me', 'ANY /files/{proxy+}', 'POST /users', '$default'].map(route),
  );

  it('prefers a literal path over a parameter', () => {
    expect(match('GET', '/users/me')?.route.routeKey).toBe('GET /users/me');
  });

  it('extracts and decodes path parameters', () => {
    const m = match('GET', '/users/a%20b');
    expect(m?.route.routeKey).toBe('GET /users/{userId}');
    expect(m?.pathParameters).toEqual({ userId: 'a b' });
  });

  it('matches greedy paths and ANY', () => {
    expect(match('DELETE', '/files/a/b/c')?.pathParameters).toEqual({ proxy: 'a/b/c' });
  });

  it('falls back to $default for an unknown method or path', () => {
    expect(match('DELETE', '/users')?.route.routeKey).toBe('$default');
    expect(match('GET', '/nope')?.route.routeKey).toBe('$default');
  });
});
