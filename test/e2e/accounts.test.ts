import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { api, WsClient } from '../support/clients.js';

const unique = (p: string) => `${p}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

async function signUp(username = unique('e2e')) {
  const res = await api('/auth/register', {
    method: 'POST',
    body: { username, password: 'a long enough password', displayName: 'E2E' },
  });
  expect(res.status).toBe(201);
  return res.body as {
    user: { userId: string; username: string; version: number };
    token: string;
    expiresAt: string;
  };
}

describe('accounts over HTTP', () => {
  it('registers, logs in and reads the profile', async () => {
    const username = unique('Bob');
    const { user, token, expiresAt } = await signUp(username);
    expect(user.username).toBe(username.toLowerCase());
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const me = await api('/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: user.userId, version: 1, bio: '' });
    expect(me.body.passwordHash).toBeUndefined();
    const loggedIn = await api('/auth/login', {
      method: 'POST',
      body: { username: username.toUpperCase(), password: 'a long enough password' },
    });
    expect(loggedIn.status).toBe(200);
    const profile = await api(`/users/${user.userId}`, { token: loggedIn.body.token });
    expect(profile.body).toEqual({
      userId: user.userId,
      username: user.username,
      displayName: 'E2E',
      bio: '',
    });
  });

  it('answers 409 username_taken to a second registration', async () => {
    const { user } = await signUp();
    const res = await api('/auth/register', {
      method: 'POST',
      body: { username: user.username, password: 'another password', displayName: 'Copy' },
    });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'username_taken' });
  });

  it('updates the profile under optimistic locking', async () => {
    const { token } = await signUp();
    const ok = await api('/me', { method: 'PATCH', token, body: { bio: 'hello', expectedVersion: 1 } });
    expect(ok.body).toMatchObject({ bio: 'hello', version: 2 });
    const stale = await api('/me', { method: 'PATCH', token, body: { bio: 'again', expectedVersion: 1 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
  });

  it('answers 404 for an unknown user', async () => {
    const { token } = await signUp();
    const res = await api('/users/u_nobody', { token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('answers 401 for missing, malformed, tampered, wrongly signed and expired tokens', async () => {
    const { token, user } = await signUp();
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'u_other' })).toString('base64url')}.${s}`;
    const wrongKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.userId)
      .setIssuer('chat-backend')
      .setAudience('chat-clients')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-real-secret-not-the-real-secret'));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    for (const bad of [undefined, 'garbage', tampered, wrongKey, none]) {
      const res = await api('/me', { token: bad });
      expect(res.status, String(bad)).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    const lowercaseScheme = await api('/me', { headers: { authorization: `bearer ${token}` } });
    expect(lowercaseScheme.status).toBe(200);
  });

  it('never answers malformed input with a 5xx', async () => {
    const { token } = await signUp();
    const bodies = ['', 'null', '[]', '"text"', '{"username":{"$ne":1}}', '{', '\u0000', 'x'.repeat(70_000)];
    for (const rawBody of bodies) {
      for (const [method, path] of [
        ['POST', '/auth/register'],
        ['POST', '/auth/login'],
        ['PATCH', '/me'],
      ] as const) {
        const res = await api(path, {
          method,
          rawBody,
          token,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status, `${method} ${path} ${rawBody.slice(0, 20)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.body.error.code).toMatch(/^[a-z_]+$/);
      }
    }
  });

  it('answers a registration sent twice with the same Idempotency-Key afresh, storing no session', async () => {
    const username = unique('idem');
    const send = () =>
      api('/auth/register', {
        method: 'POST',
        headers: { 'idempotency-key': `key-${username}` },
        body: { username, password: 'a long enough password', displayName: 'Idem' },
      });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(201);
    // No stored response (it would hold a live token): the repeat finds the name taken.
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('username_taken');
  });
});

describe('WebSocket authentication', () => {
  it('accepts a valid token and refuses bad ones with 401 at the upgrade', async () => {
    const { token } = await signUp();
    const client = await WsClient.connect(token);
    expect((await client.request({ action: 'ping' })).type).toBe('pong');
    await client.close();
    await expect(WsClient.connect('')).rejects.toMatchObject({ status: 401 });
    await expect(WsClient.connect(`${token}x`)).rejects.toMatchObject({ status: 401 });
  });
});
