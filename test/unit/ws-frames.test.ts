import { describe, expect, it } from 'vitest';
import { parseFrame } from '#shared/ws/handler.js';

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
});
