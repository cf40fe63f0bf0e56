import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type JWTPayload, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { config } from '#shared/config/env.js';
import { api, WsClient, wsUrl } from '../support/clients.js';
import { signUp } from '../support/e2e-users.js';
import { scanAll } from '../support/tables.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();
const rawClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const PASSWORD = 'a long enough password';
const secret = () => new TextEncoder().encode(process.env.TOKEN_SECRET as string);

/** A token signed with the runtime's own key, with claims chosen by the test. */
async function mint(claims: { sub?: unknown; exp?: number; jti?: string; ver?: number }) {
  const jwt = new SignJWT({ ...claims } as JWTPayload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('chat-backend')
    .setAudience('chat-clients')
    .setIssuedAt();
  return jwt.sign(secret());
}

/** Waits for the server to close a socket; resolves with the close code. */
function closed(client: WsClient, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    if (client.socket.readyState === client.socket.CLOSED) return resolve(-1);
    const timer = setTimeout(() => reject(new Error('socket still open')), timeoutMs);
    client.socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const login = (username: string, password = PASSWORD) =>
  api('/auth/login', { method: 'POST', body: { username, password } });

describe('credentials at rest', () => {
  it('keeps no idempotency record (token, password hash) for register and login', async () => {
    const key = `creds-${randomUUID()}`;
    const username = `creds${Date.now().toString(36)}`;
    const reg = await api('/auth/register', {
      method: 'POST',
      headers: { 'idempotency-key': key },
      body: { username, password: PASSWORD, displayName: 'Creds' },
    });
    expect(reg.status).toBe(201);
    const logged = await api('/auth/login', {
      method: 'POST',
      headers: { 'idempotency-key': key },
      body: { username, password: PASSWORD },
    });
    expect(logged.status).toBe(200);
    const records = await scanAll('idempotency');
    const text = JSON.stringify(records);
    expect(records.filter((r) => String(r.id).includes(key))).toEqual([]);
    expect(text).not.toContain(reg.body.token);
    expect(text).not.toContain(logged.body.token);
    // A repeat is answered afresh (409 for a taken name), never from a stored copy of a session.
    const again = await api('/auth/register', {
      method: 'POST',
      headers: { 'idempotency-key': key },
      body: { username, password: PASSWORD, displayName: 'Creds' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('username_taken');
  });

  it('gives anonymous callers no shared idempotency scope', async () => {
    const key = `shared-${randomUUID()}`;
    const register = (name: string) =>
      api('/auth/register', {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: { username: name, password: PASSWORD, displayName: 'Anon' },
      });
    const first = await register(`anona${Date.now().toString(36)}`);
    const second = await register(`anonb${Date.now().toString(36)}`);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.user.userId).not.toBe(first.body.user.userId);
  });
});

describe('tokens', () => {
  it('refuses tokens without exp and tokens whose sub is not a string, with 401 over HTTP and at the upgrade', async () => {
    const me = await signUp('tok');
    const hour = Math.floor(Date.now() / 1000) + 3600;
    const bad = [
      await mint({ sub: me.userId, jti: randomUUID() }),
      await mint({ sub: 12345, exp: hour, jti: randomUUID() }),
      await mint({ sub: { id: me.userId }, exp: hour, jti: randomUUID() }),
      await mint({ sub: me.userId, exp: hour }),
    ];
    for (const token of bad) {
      const res = await api('/me', { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      await expect(WsClient.connect(token)).rejects.toMatchObject({ status: 401 });
    }
    // The same claims done right work, so the refusals above are about the claims.
    const good = await mint({ sub: me.userId, exp: hour, jti: randomUUID(), ver: 0 });
    expect((await api('/me', { token: good })).status).toBe(200);
  });
});

describe('sessions end when they should', () => {
  it('closes an idle WebSocket at its token expiry with sessionEnded, without waiting for a frame', async () => {
    const me = await signUp('exp');
    const exp = Math.floor(Date.now() / 1000) + 3;
    const client = await connect(await mint({ sub: me.userId, exp, jti: randomUUID(), ver: 0 }));
    expect((await client.request({ action: 'ping' })).type).toBe('pong');
    const done = closed(client);
    // The socket stays idle: the server ends the session on its own.
    const ended = await client.next((f) => f.type === 'sessionEnded', 15_000);
    expect(ended).toEqual({ type: 'sessionEnded', reason: 'token_expired' });
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(exp);
    expect(await done).toBe(1000);
    // A fresh session of the same account is not affected.
    const fresh = await connect(me.token);
    expect((await fresh.request({ action: 'ping' })).type).toBe('pong');
  });

  it('the session sweeper ends recorded sessions whose token expired, and leaves live ones alone', async () => {
    const { handler } = await import('../../functions/ops/session-sweeper.js');
    const [me, peer] = await Promise.all([signUp('swp'), signUp('swq')]);
    const client = await connect(me.token);
    const live = await connect(peer.token);
    const [mine] = (await scanAll('connections')).filter((i) => i.sk === 'META' && i.userId === me.userId);
    expect(mine?.expiryShard).toMatch(/^\d+$/);
    // The sweeper sees the connection as its index holds it: its token expired a moment ago.
    const past = Math.floor(Date.now() / 1000) - 1;
    await rawClient.send(
      new UpdateCommand({
        TableName: config().tables.connections,
        Key: { pk: mine?.pk, sk: 'META' },
        UpdateExpression: 'SET expiresAt = :t, tokenExpiresAt = :t',
        ExpressionAttributeValues: { ':t': past },
      }),
    );
    const done = closed(client);
    // The index is eventually consistent: a sweep may run before the change reached it.
    for (let i = 0; i < 50 && client.socket.readyState === client.socket.OPEN; i++) {
      await handler();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await client.next((f) => f.type === 'sessionEnded')).toEqual({
      type: 'sessionEnded',
      reason: 'token_expired',
    });
    expect(await done).toBe(1000);
    const left = await scanAll('connections');
    expect(left.filter((i) => i.userId === me.userId)).toEqual([]);
    expect(left.filter((i) => i.userId === peer.userId && i.sk === 'META')).toHaveLength(1);
    expect((await live.request({ action: 'ping' })).type).toBe('pong');
  });

  it('logout revokes only that token, for HTTP, the upgrade and its open socket', async () => {
    const me = await signUp('out');
    const other = (await login(me.username)).body.token as string;
    const socket = await connect(me.token);
    const otherSocket = await connect(other);
    const done = closed(socket);
    const res = await api('/auth/logout', { method: 'POST', token: me.token });
    expect(res.status).toBe(204);
    expect(await socket.next((f) => f.type === 'sessionEnded')).toMatchObject({ reason: 'token_revoked' });
    await done;
    expect((await api('/me', { token: me.token })).status).toBe(401);
    await expect(WsClient.connect(me.token)).rejects.toMatchObject({ status: 401 });
    expect((await api('/me', { token: other })).status).toBe(200);
    expect((await otherSocket.request({ action: 'ping' })).type).toBe('pong');
  });

  it('a password change revokes every token and closes every socket of the account', async () => {
    const me = await signUp('pwd');
    const second = (await login(me.username)).body.token as string;
    const sockets = [await connect(me.token), await connect(second)];
    const wrong = await api('/auth/password', {
      method: 'POST',
      token: me.token,
      body: { currentPassword: 'not the password', newPassword: 'a brand new password' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const closing = sockets.map((s) => closed(s));
    const changed = await api('/auth/password', {
      method: 'POST',
      token: me.token,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
    });
    expect(changed.status).toBe(200);
    await Promise.all(closing);
    for (const old of [me.token, second]) expect((await api('/me', { token: old })).status).toBe(401);
    expect((await api('/me', { token: changed.body.token })).status).toBe(200);
    expect((await login(me.username)).status).toBe(401);
    expect((await login(me.username, 'a brand new password')).status).toBe(200);
    const fresh = await connect(changed.body.token);
    expect((await fresh.request({ action: 'ping' })).type).toBe('pong');
  });

  it('answers no frame of an account that is being deleted once HTTP refuses it', async () => {
    const me = await signUp('del');
    const client = await connect(me.token);
    expect((await api('/me', { method: 'DELETE', token: me.token })).status).toBe(202);
    while ((await api('/me', { token: me.token })).status === 200)
      await new Promise((r) => setTimeout(r, 50));
    const requestId = randomUUID();
    if (client.socket.readyState === client.socket.OPEN) client.send({ action: 'ping', requestId });
    await closed(client);
    await expect(client.next((f) => f.requestId === requestId, 500)).rejects.toThrow();
  });
});

describe('the local @connections API', () => {
  it('refuses requests without a valid signature, as IAM does', async () => {
    const me = await signUp('iam');
    await connect(me.token);
    const base = wsUrl().replace(/^ws/, 'http');
    const unsigned = await fetch(`${base}/@connections/anything`, {
      method: 'POST',
      body: '{"type":"spoof"}',
    });
    expect(unsigned.status).toBe(403);
    const forged = await fetch(`${base}/@connections/anything`, {
      method: 'POST',
      body: '{"type":"spoof"}',
      headers: {
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
      },
    });
    expect(forged.status).toBe(403);
    const get = await fetch(`${base}/@connections/anything`);
    expect(get.status).toBe(403);
  });
});
