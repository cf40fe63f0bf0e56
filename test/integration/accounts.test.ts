import { describe, expect, it } from 'vitest';
import { handler as login } from '../../functions/http/auth-login.js';
import { handler as register } from '../../functions/http/auth-register.js';
import { handler as getMe } from '../../functions/http/me-get.js';
import { handler as updateMe } from '../../functions/http/me-update.js';
import { call, httpEvent } from '../support/lambda.js';
import { scanAll, unique } from '../support/tables.js';

const registerEvent = (
  username: string,
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>,
) =>
  httpEvent('POST /auth/register', '/auth/register', {
    body: { username, password: 'correct horse battery', displayName: 'Alice', ...extra },
    headers,
  });

async function registered(username = unique('alice')) {
  const res = await call(register, registerEvent(username));
  expect(res.status).toBe(201);
  return res.body as { user: { userId: string; version: number }; token: string };
}

describe('registration', () => {
  it('writes exactly one user and one guard when 50 clients race for a username', async () => {
    const username = unique('race');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => call(register, registerEvent(username))),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.error.code).toBe('username_taken');
    const users = (await scanAll('users')).filter((u) => u.username === username);
    const guards = (await scanAll('usernames')).filter((g) => g.username === username);
    expect(users).toHaveLength(1);
    expect(guards).toEqual([expect.objectContaining({ userId: users[0]?.userId })]);
  });

  it('treats usernames case-insensitively', async () => {
    const username = unique('case');
    await registered(username);
    const res = await call(register, registerEvent(username.toUpperCase()));
    expect(res.status).toBe(409);
  });

  it.each([
    [{ username: 'ab' }, 'username'],
    [{ username: 'has space' }, 'username'],
    [{ password: 'short' }, 'password'],
    [{ displayName: '' }, 'displayName'],
    [{ displayName: 42 }, 'displayName'],
  ])('rejects %j naming the field and writes nothing', async (override, field) => {
    const username = unique('bad');
    const res = await call(register, registerEvent(username, override));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain(field);
    expect((await scanAll('usernames')).some((g) => g.username === username)).toBe(false);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await call(
      register,
      httpEvent('POST /auth/register', '/auth/register', { rawBody: '{nope' }),
    );
    expect(res.status).toBe(400);
  });
});

describe('login', () => {
  it('accepts the password in any username case and refuses a wrong one', async () => {
    const username = unique('login');
    await registered(username);
    const ok = await call(
      login,
      httpEvent('POST /auth/login', '/auth/login', {
        body: { username: username.toUpperCase(), password: 'correct horse battery' },
      }),
    );
    expect(ok.status).toBe(200);
    expect(ok.body.token).toMatch(/^ey/);
    const bad = await call(
      login,
      httpEvent('POST /auth/login', '/auth/login', { body: { username, password: 'wrong password' } }),
    );
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_credentials');
    const unknown = await call(
      login,
      httpEvent('POST /auth/login', '/auth/login', {
        body: { username: unique('ghost'), password: 'whatever1' },
      }),
    );
    expect(unknown.status).toBe(401);
  });
});

describe('PATCH /me', () => {
  it('lets exactly one of many concurrent updates with the same expectedVersion win', async () => {
    const { user } = await registered();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(
          updateMe,
          httpEvent('PATCH /me', '/me', {
            userId: user.userId,
            body: { bio: `bio ${i}`, expectedVersion: 1 },
          }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const conflicts = results.filter((r) => r.status === 409);
    expect(conflicts).toHaveLength(19);
    expect(conflicts[0]?.body.error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
    const me = await call(getMe, httpEvent('GET /me', '/me', { userId: user.userId }));
    expect(me.body.version).toBe(2);
  });

  it('answers 401 without an authenticated user', async () => {
    const res = await call(getMe, httpEvent('GET /me', '/me'));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response and does not apply the change twice', async () => {
    const { user } = await registered();
    const event = () =>
      httpEvent('PATCH /me', '/me', {
        userId: user.userId,
        body: { displayName: 'Once', expectedVersion: 1 },
        headers: { 'idempotency-key': 'k-1' },
      });
    const first = await call(updateMe, event());
    const second = await call(updateMe, event());
    expect(first.status).toBe(200);
    expect(second).toEqual(first);
    const me = await call(getMe, httpEvent('GET /me', '/me', { userId: user.userId }));
    expect(me.body.version).toBe(2);
  });

  it('refuses the same key with another body', async () => {
    const { user } = await registered();
    const send = (displayName: string) =>
      call(
        updateMe,
        httpEvent('PATCH /me', '/me', {
          userId: user.userId,
          body: { displayName, expectedVersion: 1 },
          headers: { 'idempotency-key': 'k-2' },
        }),
      );
    expect((await send('One')).status).toBe(200);
    const reused = await send('Two');
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
  });

  it('executes concurrent duplicates once and gives all of them the same answer', async () => {
    const me = await registered();
    const key = unique('patch');
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        call(
          updateMe,
          httpEvent('PATCH /me', '/me', {
            userId: me.user.userId,
            body: { bio: 'once', expectedVersion: 1 },
            headers: { 'idempotency-key': key },
          }),
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(results.map((r) => r.body.version))).toEqual(new Set([2]));
    expect((await scanAll('users')).find((u) => u.userId === me.user.userId)?.version).toBe(2);
  });

  it('keeps no record for registrations: a repeat is answered afresh, never with a stored token', async () => {
    const username = unique('idem');
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(register, registerEvent(username, {}, { 'idempotency-key': `reg-${username}` })),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    expect((await scanAll('idempotency')).filter((r) => String(r.id).includes(`reg-${username}`))).toEqual(
      [],
    );
  });

  it('scopes keys per user', async () => {
    const a = await registered();
    const b = await registered();
    for (const who of [a, b]) {
      const res = await call(
        updateMe,
        httpEvent('PATCH /me', '/me', {
          userId: who.user.userId,
          body: { bio: 'same', expectedVersion: 1 },
          headers: { 'idempotency-key': 'shared-key' },
        }),
      );
      expect(res.body.userId).toBe(who.user.userId);
    }
  });
});
