import { describe, expect, it } from 'vitest';
import {
  fromHeld,
  heldBytes,
  msUntilRelease,
  OrderWindow,
  planRelease,
  type ReceivedSend,
  releaseCutoff,
  toHeld,
} from '#shared/domain/send-order.js';

const T0 = 1_767_225_600_000;

/** A queued send; with `connection` it came over WebSocket at `frameTime` (ms after T0). */
function send(
  id: string,
  sentAt: number,
  origin?: { connection: string; frameTime: number; previousAcked?: boolean },
): ReceivedSend {
  return {
    id,
    sentAt: T0 + sentAt,
    send: {
      attemptId: `attempt-${id}`,
      conversationId: 'c_1',
      senderId: 'u_sender',
      clientMessageId: `cm-${id}`,
      text: id,
      messageId: `m-${id}`,
      enqueuedAt: T0,
      ...(origin
        ? {
            origin: {
              connectionId: origin.connection,
              frameTime: T0 + origin.frameTime,
              requestId: `r-${id}`,
              ...(origin.previousAcked ? { previousAcked: true } : {}),
            },
          }
        : {}),
    },
  };
}
const ids = (sends: readonly ReceivedSend[]) => sends.map((s) => s.id);

describe('the reorder window', () => {
  it('commits frames in the order they reached the gateway, whatever the queue order', () => {
    // Frames 10 ms apart whose queue sends landed out of order; the newest queue time is 97.
    const queued = [
      send('f3', 95, { connection: 'a', frameTime: 30 }),
      send('f1', 96, { connection: 'a', frameTime: 10 }),
      send('f2', 97, { connection: 'a', frameTime: 20 }),
    ];
    const { release, hold } = planRelease([], queued, releaseCutoff(T0 + 97, 60), 1e6);
    expect(ids(release)).toEqual(['f1', 'f2', 'f3']);
    expect(hold).toEqual([]);
  });

  it('holds a frame that a send still on its way could precede, until the queue is past it', () => {
    // f2 is in hand, queued at 60; f1 (frame 40) is still on its way. Window 100: the cutoff is -40.
    const first = planRelease(
      [],
      [send('f2', 60, { connection: 'a', frameTime: 50 })],
      releaseCutoff(T0 + 60, 100),
      1e6,
    );
    expect(ids(first.release)).toEqual([]);
    expect(ids(first.hold)).toEqual(['f2']);

    // f1 reaches the queue at 120 and a flush marker at 160: both are past the window.
    const later = planRelease(
      fromHeld(toHeld(first.hold)),
      [send('f1', 120, { connection: 'a', frameTime: 40 })],
      releaseCutoff(T0 + 160, 100),
      1e6,
    );
    expect(ids(later.release)).toEqual(['f1', 'held']);
    expect(later.release.map((r) => r.send.clientMessageId)).toEqual(['cm-f1', 'cm-f2']);
    expect(later.hold).toEqual([]);
  });

  it('judges by the queue, not the clock: a backlog does not release frames ahead of their predecessors', () => {
    // Received long after it was sent, but the newest queue time in hand is 25: f2 (frame 20) waits.
    const plan = planRelease(
      [],
      [send('f2', 25, { connection: 'a', frameTime: 20 })],
      releaseCutoff(T0 + 25, 30),
      1e6,
    );
    expect(ids(plan.hold)).toEqual(['f2']);
  });

  it('never holds HTTP sends (their callers wait), and orders them by queue time among frames', () => {
    const { release, hold } = planRelease(
      [],
      [
        send('ws-fresh', 95, { connection: 'a', frameTime: 90 }),
        send('http', 50),
        send('ws-old', 20, { connection: 'b', frameTime: 10 }),
      ],
      releaseCutoff(T0 + 95, 30),
      1e6,
    );
    expect(ids(release)).toEqual(['ws-old', 'http']);
    expect(ids(hold)).toEqual(['ws-fresh']);
  });

  it('keeps queue order for equal arrival times, held sends first', () => {
    const held = [send('h', 5, { connection: 'a', frameTime: 5 })];
    const { release } = planRelease(held, [send('q', 6, { connection: 'b', frameTime: 5 })], T0 + 999, 1e6);
    expect(ids(release)).toEqual(['h', 'q']);
  });

  it('releases the oldest at once when the held sends would pass their byte budget', () => {
    const sends = [1, 2, 3, 4, 5].map((i) => send(`f${i}`, i, { connection: 'a', frameTime: i }));
    const two = heldBytes(sends[3] as ReceivedSend) + heldBytes(sends[4] as ReceivedSend);
    const { release, hold } = planRelease([], sends, T0, two);
    expect(ids(release)).toEqual(['f1', 'f2', 'f3']);
    expect(ids(hold)).toEqual(['f4', 'f5']);
  });

  it('commits a frame declared previousAcked at once, inside the window', () => {
    const { release, hold } = planRelease(
      [],
      [
        send('solo', 95, { connection: 'a', frameTime: 90, previousAcked: true }),
        send('piped', 96, { connection: 'b', frameTime: 91 }),
      ],
      releaseCutoff(T0 + 96, 100),
      1e6,
    );
    expect(ids(release)).toEqual(['solo']);
    expect(ids(hold)).toEqual(['piped']);
  });

  it('holds a previousAcked frame behind a held earlier frame of its own connection', () => {
    // The client lied, or an earlier frame is still held: the declaration never jumps its own queue.
    const held = [send('early', 50, { connection: 'a', frameTime: 40 })];
    const { release, hold } = planRelease(
      fromHeld(toHeld(held)),
      [
        send('late', 95, { connection: 'a', frameTime: 90, previousAcked: true }),
        send('other', 96, { connection: 'b', frameTime: 92, previousAcked: true }),
      ],
      releaseCutoff(T0 + 96, 100),
      1e6,
    );
    expect(ids(release)).toEqual(['other']);
    expect(hold.map((r) => r.send.clientMessageId)).toEqual(['cm-early', 'cm-late']);
  });

  it('tells how long until a queue message would release the oldest held frame', () => {
    const hold = [
      send('x', 0, { connection: 'a', frameTime: 50 }),
      send('y', 0, { connection: 'a', frameTime: 20 }),
    ];
    expect(msUntilRelease(hold, T0 + 30, 100)).toBe(91);
    expect(msUntilRelease(hold, T0 + 500, 100)).toBe(0);
    expect(msUntilRelease([], T0, 100)).toBe(0);
  });
});

describe('the window size', () => {
  it('follows the worst recent ingress latency, within its limits, and forgets old samples', () => {
    const w = new OrderWindow({ minMs: 20, maxMs: 1000 }, 4, 30_000);
    expect(w.ms(T0)).toBe(20);
    w.observe([send('a', 40, { connection: 'a', frameTime: 0 })]);
    expect(w.ms(T0 + 40)).toBe(140);
    w.observe([send('b', 800, { connection: 'a', frameTime: 0 })]);
    expect(w.ms(T0 + 800)).toBe(1000);
    // HTTP sends carry no frame time and do not count; past `size` samples the oldest roll out.
    w.observe([send('h', 9999)]);
    w.observe([1, 2, 3, 4].map((i) => send(`s${i}`, 801, { connection: 'a', frameTime: 800 })));
    expect(w.ms(T0 + 801)).toBe(23);
    // Past the horizon nothing is left: the window is back at its minimum.
    w.observe([send('c', 900, { connection: 'a', frameTime: 0 })]);
    expect(w.ms(T0 + 900)).toBe(1000);
    expect(w.ms(T0 + 900 + 30_001)).toBe(20);
  });
});
