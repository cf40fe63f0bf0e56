import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { parseFrame, type WsEvent, wsRoute } from '#shared/ws/handler.js';

describe('parsing a WebSocket frame', () => {
  it('accepts a requestId of up to 128 characters', () => {
    const frame = parseFrame(JSON.stringify({ action: 'ping', requestId: 'r'.repeat(128) }));
    expect(frame.requestId).toBe('r'.repeat(128));
  });

  it('refuses a requestId it could not echo, instead of dropping it', () => {
    for (const requestId of ['r'.repeat(129), 42, null, { id: 'x' }]) {
      expect(() => parseFrame(JSON.stringify({ action: 'ping', requestId })), String(requestId)).toThrow(
        expect.objectContaining({ code: 'invalid_request', status: 400 }),
      );
    }
  });

  it('parses a frame body once on the error path, echoing its requestId and clientMessageId', async () => {
    // A frame without an authorizer verdict fails before any table is read: the error path alone.
    const handler = wsRoute(async () => ({ type: 'never' }));
    const body = JSON.stringify({ action: 'sendMessage', requestId: 'r1', clientMessageId: 'm1' });
    const event = {
      body,
      requestContext: { connectionId: 'c1=', routeKey: 'sendMessage' },
    } as unknown as WsEvent;
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const res = (await handler(event, {} as Context)) as { statusCode: number; body: string };
      const parsesOfBody = parse.mock.calls.filter(([text]) => text === body).length;
      expect(parsesOfBody).toBe(1);
      expect(JSON.parse(res.body)).toMatchObject({
        type: 'error',
        code: 'unauthorized',
        requestId: 'r1',
        clientMessageId: 'm1',
      });
    } finally {
      parse.mockRestore();
    }
  });
});
