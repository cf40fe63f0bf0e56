import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { describeSagaError, publicOperationError } from '#shared/domain/operation-errors.js';
import { httpRoute } from '#shared/http/handler.js';
import { json } from '#shared/http/response.js';
import { api, httpUrl } from '../support/clients.js';
import { befriend, signUp } from '../support/e2e-users.js';
import { httpEvent, lambdaContext } from '../support/lambda.js';
import { scanAll } from '../support/tables.js';

const contractShape = (body: any) => {
  expect(body.error).toMatchObject({ code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) });
  expect(typeof body.error.requestId).toBe('string');
};

/** A raw request, for headers fetch would refuse to send. */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, httpUrl()), { headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('errors in the contract shape', () => {
  it('answers an oversized body with 413 and oversized headers with 431', async () => {
    const big = await api('/auth/login', { method: 'POST', rawBody: 'x'.repeat(11 * 1024 * 1024) });
    expect(big.status).toBe(413);
    contractShape(big.body);
    expect(big.body.error.code).toBe('payload_too_large');
    const headers = await rawGet('/health', { 'x-padding': 'a'.repeat(20_000) });
    expect(headers.status).toBe(431);
    contractShape(headers.body);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const me = await signUp('ctype');
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await api('/me', {
        method: 'PATCH',
        token: me.token,
        rawBody: '{"bio":"x","expectedVersion":1}',
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const ok = await api('/me', {
      method: 'PATCH',
      token: me.token,
      rawBody: '{"bio":"x","expectedVersion":1}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a JSON body that is not valid UTF-8 with 400, and stores nothing', async () => {
    const me = await signUp('utf8');
    const [a, b] = [Buffer.from('{"bio":"ok '), Buffer.from(' end","expectedVersion":1}')];
    const res = await api('/me', {
      method: 'PATCH',
      token: me.token,
      rawBody: Buffer.concat([a, Buffer.from([0xff, 0xfe]), b]),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    contractShape(res.body);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', message: 'body: not valid UTF-8' });
    const profile = await api('/me', { token: me.token });
    expect(profile.body.bio ?? '').toBe('');
    // The same text with valid UTF-8 (here U+FFFD itself, written as bytes) is accepted.
    const ok = await api('/me', {
      method: 'PATCH',
      token: me.token,
      rawBody: Buffer.concat([a, Buffer.from('\uFFFD', 'utf8'), b]),
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(200);
  });

  it('answers a request that runs out of time with 504 timeout before Lambda cuts it off', async () => {
    const slow = httpRoute({ public: true }, async () => {
      await new Promise((r) => setTimeout(r, 3_000));
      return json(200, {});
    });
    const res = (await slow(httpEvent('GET /slow', '/slow'), lambdaContext(1_000))) as {
      statusCode: number;
      body: string;
    };
    expect(res.statusCode).toBe(504);
    expect(JSON.parse(res.body).error.code).toBe('timeout');
  });
});

describe('what leaks', () => {
  it('gives operations stable error codes, never a raw cause', () => {
    const raw = { Error: 'Error', Cause: 'ConnectionError: connect ECONNREFUSED 127.0.0.1:4566' };
    const described = describeSagaError('op_test', raw);
    expect(described).not.toContain('ECONNREFUSED');
    expect(described).toMatch(/^internal: /);
    expect(describeSagaError('op_test', { Error: 'TransientError', Cause: 'socket hang up' })).toMatch(
      /^unavailable: /,
    );
    const business = {
      Error: 'BusinessError',
      Cause: '{"errorType":"BusinessError","errorMessage":"not_found: u_1"}',
    };
    expect(describeSagaError('op_test', business)).toMatch(/^not_found: /);
    expect(describeSagaError('op_test', business)).not.toContain('u_1');
    // Records written before errors were stable are shown as `internal`.
    expect(publicOperationError('Error: connect ECONNREFUSED 127.0.0.1:1')).toMatch(/^internal: /);
    expect(publicOperationError(null)).toBeNull();
  });

  it('starts one deletion saga for concurrent DELETE /me and shows the deleted account as deleted', async () => {
    const [me, friend] = await Promise.all([signUp('gone'), signUp('stays')]);
    const conversationId = await befriend(friend, me);
    const deletes = await Promise.all(
      Array.from({ length: 6 }, () => api('/me', { method: 'DELETE', token: me.token })),
    );
    const accepted = deletes.filter((d) => d.status === 202);
    expect(accepted.length).toBeGreaterThan(0);
    expect(deletes.every((d) => d.status === 202 || d.status === 401 || d.status === 404)).toBe(true);
    expect(new Set(accepted.map((d) => d.body.operationId)).size).toBe(1);
    const operationId = accepted[0]?.body.operationId as string;
    const ops = (await scanAll('operations')).filter((o) => o.userId === me.userId);
    expect(ops.map((o) => o.operationId)).toEqual([operationId]);
    let status = 'running';
    while (status === 'running') {
      await new Promise((r) => setTimeout(r, 200));
      const op = await api(`/operations/${operationId}`, { token: me.token });
      status = op.status === 200 ? op.body.status : 'gone';
      if (op.status === 200 && op.body.error !== null) expect(op.body.error).toMatch(/^[a-z_]+: /);
    }
    // Someone else takes the freed username; the old conversation still shows a deleted account.
    const taker = await api('/auth/register', {
      method: 'POST',
      body: { username: me.username, password: 'a long enough password', displayName: 'Newcomer' },
    });
    expect(taker.status).toBe(201);
    const list = await api('/conversations', { token: friend.token });
    const direct = list.body.items.find((c: any) => c.conversationId === conversationId);
    expect(direct?.peer).toMatchObject({ userId: me.userId, username: '', deleted: true });
    expect(JSON.stringify(list.body)).not.toContain(me.username);
  });
});
