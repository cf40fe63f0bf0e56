import { describe, expect, it } from 'vitest';
import { orderByConnection, type ReceivedSend } from '#shared/domain/sequencer.js';
import { unique } from '../support/tables.js';

/** A queued send; with `connectionId` it came over WebSocket with that frame time. */
function send(id: string, conversationId: string, origin?: { connectionId: string; frameTime: number }) {
  return {
    id,
    send: {
      attemptId: `attempt-${id}`,
      conversationId,
      senderId: 'u_sender',
      clientMessageId: `cm-${id}`,
      text: id,
      messageId: `m-${id}`,
      enqueuedAt: 1_767_225_600_000,
      ...(origin ? { origin: { ...origin, requestId: `req-${id}` } } : {}),
    },
  } satisfies ReceivedSend;
}

const order = (sends: readonly ReceivedSend[]) => orderByConnection(sends).map((s) => s.id);

describe('ordering a conversation batch by connection', () => {
  it("reorders one connection's overtaken frames within that connection's slots", () => {
    const c = unique('conv_');
    const [ws1, ws2] = [unique('conn_'), unique('conn_')];
    const sends = [
      send('a3', c, { connectionId: ws1, frameTime: 300 }),
      send('http1', c),
      send('b1', c, { connectionId: ws2, frameTime: 50 }),
      send('a1', c, { connectionId: ws1, frameTime: 100 }),
      send('a2', c, { connectionId: ws1, frameTime: 200 }),
      send('http2', c),
      send('b2', c, { connectionId: ws2, frameTime: 60 }),
    ];

    // ws1 holds slots 0, 3 and 4; it gets its frames there in frame-time order. Everything else stays.
    expect(order(sends)).toEqual(['a1', 'http1', 'b1', 'a2', 'a3', 'http2', 'b2']);
  });

  it('keeps the queue order between connections even when their frame times disagree', () => {
    const c = unique('conv_');
    const sends = [
      send('late', c, { connectionId: unique('conn_'), frameTime: 900 }),
      send('early', c, { connectionId: unique('conn_'), frameTime: 100 }),
      send('http', c),
    ];
    expect(order(sends)).toEqual(['late', 'early', 'http']);
  });

  it('keeps the queue order of one connection for equal frame times and of HTTP sends', () => {
    const c = unique('conv_');
    const ws = unique('conn_');
    const sends = [
      send('h1', c),
      send('x', c, { connectionId: ws, frameTime: 500 }),
      send('y', c, { connectionId: ws, frameTime: 500 }),
      send('h2', c),
      send('z', c, { connectionId: ws, frameTime: 400 }),
      send('h3', c),
    ];
    expect(order(sends)).toEqual(['h1', 'z', 'x', 'h2', 'y', 'h3']);
  });

  it('returns the same sends without changing its input', () => {
    const c = unique('conv_');
    const ws = unique('conn_');
    const sends = [
      send('second', c, { connectionId: ws, frameTime: 2 }),
      send('first', c, { connectionId: ws, frameTime: 1 }),
    ];
    const before = sends.map((s) => s.id);

    const ordered = orderByConnection(sends);

    expect(ordered.map((s) => s.id)).toEqual(['first', 'second']);
    expect(sends.map((s) => s.id)).toEqual(before);
    expect(new Set(ordered)).toEqual(new Set(sends));
    expect(orderByConnection([])).toEqual([]);
  });
});
