import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, WsClient } from '../support/clients.js';
import { signUp } from '../support/e2e-users.js';

describe('GET /health', () => {
  it('answers 200 once DynamoDB, the search domain and the send queue all answer', async () => {
    const res = await api('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      dependencies: { database: 'ok', search: 'ok', sendQueue: 'ok' },
    });
  });
});

describe('unknown HTTP routes', () => {
  it('answer 404 in the contract error shape', async () => {
    const res = await api('/no/such/route', { method: 'POST', rawBody: 'x' });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found' });
    expect(typeof res.body.error.requestId).toBe('string');
  });
});

describe('WebSocket', () => {
  let client: WsClient;
  beforeAll(async () => {
    const { token } = await signUp('ping');
    client = await WsClient.connect(token);
  });
  afterAll(() => client.close());

  it('answers ping with pong, echoing the requestId', async () => {
    const pong = await client.request({ action: 'ping' });
    expect(pong.type).toBe('pong');
  });

  it('answers an unknown action with an error frame and stays open', async () => {
    const err = await client.request({ action: 'dance' });
    expect(err).toMatchObject({ type: 'error', code: 'invalid_request' });
    expect((await client.request({ action: 'ping' })).type).toBe('pong');
  });

  it('answers a malformed frame with an error frame', async () => {
    client.send('this is not json');
    const err = await client.next((f) => f.type === 'error');
    expect(err.code).toBe('invalid_request');
    client.send('[1,2]');
    expect((await client.next((f) => f.type === 'error')).message).toMatch(/object/);
    expect((await client.request({ action: 'ping' })).type).toBe('pong');
  });

  it('refuses the upgrade with 401 without a valid token', async () => {
    await expect(WsClient.connect()).rejects.toMatchObject({ status: 401 });
    await expect(WsClient.connect('not-a-jwt')).rejects.toMatchObject({ status: 401 });
  });
});
