import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backoffDelay,
  ChatApiError,
  ChatSession,
  type Message,
  type SessionOptions,
} from '../../clients/sdk/index.js';
import { fakeSockets } from '../support/fake-socket.js';

const msg = (conversationId: string, seq: number, clientMessageId = `c${seq}`): Message => ({
  conversationId,
  seq,
  messageId: `${conversationId}#${seq}`,
  senderId: 'u1',
  clientMessageId,
  text: `text ${seq}`,
  createdAt: new Date(0).toISOString(),
  version: 1,
});

/** A session on fake sockets, with fixed jitter (half of each backoff ceiling) and a token counter. */
function setup(options: Partial<SessionOptions> = {}) {
  const net = fakeSockets();
  const tokens: boolean[] = [];
  const session = new ChatSession({
    url: 'ws://chat.test',
    token: ({ refresh }) => {
      tokens.push(refresh);
      return `t${tokens.length}`;
    },
    socketFactory: net.factory,
    random: () => 0.5,
    ...options,
  });
  const delivered: Message[] = [];
  session.on('message', (m) => delivered.push(m));
  return { net, session, delivered, tokens };
}

/** Lets the session's async connect run (token promise, then the factory). */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('SDK session against a fake socket', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('connects with the token in the query and resolves start once open', async () => {
    const { net, session } = setup();
    let started = false;
    void session.start().then(() => {
      started = true;
    });
    await settle();
    expect(new URL(net.last.url).searchParams.get('token')).toBe('t1');
    expect(started).toBe(false);
    net.last.open();
    await settle();
    expect(started).toBe(true);
    expect(session.state).toBe('open');
  });

  it('delivers each (conversationId, seq) once, in order, and fills a gap with sync', async () => {
    const { net, session, delivered } = setup();
    session.track('c1', 0);
    void session.start();
    await settle();
    net.last.open();
    expect(net.last.frames('sync')).toEqual([
      { action: 'sync', conversationId: 'c1', afterSeq: 0, limit: 200, requestId: 'sync:c1' },
    ]);
    net.last.push({ type: 'sync', conversationId: 'c1', messages: [], hasMore: false, requestId: 'sync:c1' });
    net.last.push({ type: 'message', message: msg('c1', 1) });
    net.last.push({ type: 'message', message: msg('c1', 1) });
    net.last.push({ type: 'message', message: msg('c1', 3) });
    expect(delivered.map((m) => m.seq)).toEqual([1]);
    // Seq 3 after 1: a gap, so a sync from 1.
    expect(net.last.frames('sync').at(-1)).toMatchObject({ conversationId: 'c1', afterSeq: 1 });
    net.last.push({
      type: 'sync',
      conversationId: 'c1',
      messages: [msg('c1', 2), msg('c1', 3)],
      hasMore: false,
    });
    net.last.push({ type: 'message', message: msg('c1', 2) });
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(session.lastSeq('c1')).toBe(3);
  });

  it('pages a sync while hasMore', async () => {
    const { net, session, delivered } = setup();
    session.track('c1', 0);
    void session.start();
    await settle();
    net.last.open();
    net.last.push({
      type: 'sync',
      conversationId: 'c1',
      messages: [msg('c1', 1), msg('c1', 2)],
      hasMore: true,
    });
    expect(net.last.frames('sync').at(-1)).toMatchObject({ afterSeq: 2 });
    net.last.push({ type: 'sync', conversationId: 'c1', messages: [msg('c1', 3)], hasMore: false });
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(net.last.frames('sync')).toHaveLength(2);
  });

  it('reconnects after a drop with backoff and jitter, then syncs every tracked conversation from its last seq', async () => {
    const { net, session, delivered } = setup();
    session.track('c1', 4);
    session.track('c2', 0);
    void session.start();
    await settle();
    net.last.open();
    net.last.push({ type: 'message', message: msg('c1', 5) });
    net.last.drop();
    expect(session.state).toBe('reconnecting');
    // Attempt 0 after a connection that had opened: half of the 500 ms ceiling.
    await vi.advanceTimersByTimeAsync(249);
    expect(net.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.sockets).toHaveLength(2);
    net.last.open();
    expect(net.last.frames('sync').map((f) => [f.conversationId, f.afterSeq])).toEqual([
      ['c1', 5],
      ['c2', 0],
    ]);
    net.last.push({
      type: 'sync',
      conversationId: 'c1',
      messages: [msg('c1', 5), msg('c1', 6)],
      hasMore: false,
    });
    expect(delivered.map((m) => m.seq)).toEqual([5, 6]);
  });

  it('asks each sync for the changes since the last change token and emits them as changed', async () => {
    const { net, session } = setup();
    const changed: Message[] = [];
    session.on('changed', (m) => changed.push(m));
    session.track('c1', 0);
    void session.start();
    await settle();
    net.last.open();
    // The first sync only learns the token.
    expect(net.last.frames('sync').at(-1)).not.toHaveProperty('afterChangeSeq');
    net.last.push({
      type: 'sync',
      conversationId: 'c1',
      messages: [msg('c1', 1)],
      hasMore: false,
      changeSeq: 3,
    });
    net.last.drop();
    await vi.advanceTimersByTimeAsync(250);
    net.last.open();
    expect(net.last.frames('sync').at(-1)).toMatchObject({
      conversationId: 'c1',
      afterSeq: 1,
      afterChangeSeq: 3,
    });
    const edited = { ...msg('c1', 1), text: 'edited', version: 2, changeSeq: 4 };
    net.last.push({
      type: 'sync',
      conversationId: 'c1',
      messages: [],
      hasMore: false,
      changeSeq: 4,
      changes: [edited],
      changesHasMore: true,
    });
    expect(changed).toEqual([edited]);
    // More changes follow: the session asks again from the new token.
    expect(net.last.frames('sync').at(-1)).toMatchObject({ afterChangeSeq: 4 });
  });

  it('backs off exponentially while connections fail, and refreshes the token after repeated failures', async () => {
    const { net, session, tokens } = setup({ backoff: { baseMs: 100, maxMs: 1000 } });
    void session.start();
    await settle();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      net.last.drop(); // refused before it opened
      const before = net.sockets.length;
      let waited = 0;
      while (net.sockets.length === before) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      delays.push(waited);
    }
    // Half of min(1000, 100 × 2^attempt) for attempts 1..5.
    expect(delays).toEqual([100, 200, 400, 500, 500]);
    expect(tokens).toEqual([false, false, true, true, true, true]);
  });

  it('keeps sends in order, one on the wire per conversation, and retries across a drop with the same clientMessageId', async () => {
    const { net, session, delivered } = setup();
    session.track('c1', 0);
    void session.start();
    await settle();
    net.last.open();
    const results = ['a', 'b', 'c'].map((text) => session.send('c1', text, `id-${text}`));
    expect(net.last.frames('sendMessage')).toEqual([
      {
        action: 'sendMessage',
        conversationId: 'c1',
        clientMessageId: 'id-a',
        text: 'a',
        previousAcked: true,
        requestId: 'send:id-a',
      },
    ]);
    net.last.push({
      type: 'ack',
      clientMessageId: 'id-a',
      message: msg('c1', 1, 'id-a'),
      requestId: 'send:id-a',
    });
    expect(net.last.frames('sendMessage').map((f) => f.clientMessageId)).toEqual(['id-a', 'id-b']);
    // The connection drops before b's ack: b was maybe stored, maybe not.
    net.last.drop();
    await vi.advanceTimersByTimeAsync(250);
    net.last.open();
    expect(net.last.frames('sendMessage').map((f) => f.clientMessageId)).toEqual(['id-b']);
    net.last.push({ type: 'ack', clientMessageId: 'id-b', message: msg('c1', 2, 'id-b') });
    net.last.push({ type: 'ack', clientMessageId: 'id-c', message: msg('c1', 3, 'id-c') });
    const stored = await Promise.all(results);
    expect(stored.map((m) => m.clientMessageId)).toEqual(['id-a', 'id-b', 'id-c']);
    expect(delivered.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(session.pendingSends).toBe(0);
  });

  it('resends an unacknowledged message after the ack timeout, and ignores the late ack of the first attempt', async () => {
    const { net, session } = setup({ ackTimeoutMs: 1000 });
    void session.start();
    await settle();
    net.last.open();
    const sent = session.send('c1', 'x', 'id-x');
    await vi.advanceTimersByTimeAsync(1000);
    expect(net.last.frames('sendMessage').map((f) => f.clientMessageId)).toEqual(['id-x', 'id-x']);
    net.last.push({ type: 'ack', clientMessageId: 'id-x', message: msg('c1', 1, 'id-x') });
    net.last.push({ type: 'ack', clientMessageId: 'id-x', message: msg('c1', 1, 'id-x') });
    expect((await sent).seq).toBe(1);
  });

  it('waits retryAfterMs after throttled and retries the same message; rejects what the backend refuses for good', async () => {
    const { net, session } = setup();
    const throttled: number[] = [];
    session.on('throttled', (t) => throttled.push(t.retryAfterMs));
    void session.start();
    await settle();
    net.last.open();
    const first = session.send('c1', 'one', 'id-1');
    const second = session.send('c1', 'two', 'id-2');
    net.last.push({
      type: 'error',
      code: 'throttled',
      message: 'slow down',
      retryAfterMs: 700,
      requestId: 'send:id-1',
    });
    expect(throttled).toEqual([700]);
    await vi.advanceTimersByTimeAsync(699);
    expect(net.last.frames('sendMessage')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.last.frames('sendMessage').map((f) => f.clientMessageId)).toEqual(['id-1', 'id-1']);
    net.last.push({ type: 'error', code: 'not_a_member', message: 'left', clientMessageId: 'id-1' });
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatApiError);
    expect((error as ChatApiError).code).toBe('not_a_member');
    // The next message goes on.
    expect(net.last.frames('sendMessage').at(-1)).toMatchObject({ clientMessageId: 'id-2' });
    net.last.push({ type: 'ack', clientMessageId: 'id-2', message: msg('c1', 1, 'id-2') });
    expect((await second).clientMessageId).toBe('id-2');
  });

  it('pings before the idle timeout and reconnects when no pong comes', async () => {
    const { net, session } = setup({ pingIntervalMs: 60_000, pongTimeoutMs: 5000 });
    void session.start();
    await settle();
    net.last.open();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(net.last.frames('ping')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(net.last.frames('ping')).toHaveLength(1);
    net.last.push({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.last.frames('ping')).toHaveLength(2);
    // No pong this time: the connection is dead.
    await vi.advanceTimersByTimeAsync(5000);
    expect(net.sockets[0]?.readyState).toBe(3);
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets).toHaveLength(2);
  });

  it('renews the connection before the 2 h limit and catches up', async () => {
    const { net, session } = setup({ renewAfterMs: 110 * 60_000, pingIntervalMs: 10 * 60_000 });
    session.track('c1', 7);
    void session.start();
    await settle();
    net.last.open();
    await vi.advanceTimersByTimeAsync(110 * 60_000 + 250);
    expect(net.sockets).toHaveLength(2);
    expect(net.sockets[0]?.readyState).toBe(3);
    net.last.open();
    expect(net.last.frames('sync')).toEqual([expect.objectContaining({ conversationId: 'c1', afterSeq: 7 })]);
  });

  it('re-sends the latest read position after a reconnect', async () => {
    const { net, session } = setup();
    void session.start();
    await settle();
    net.last.open();
    session.markRead('c1', 3);
    session.markRead('c1', 2);
    expect(net.last.frames('markRead')).toEqual([{ action: 'markRead', conversationId: 'c1', seq: 3 }]);
    net.last.drop();
    await vi.advanceTimersByTimeAsync(250);
    net.last.open();
    expect(net.last.frames('markRead')).toEqual([{ action: 'markRead', conversationId: 'c1', seq: 3 }]);
  });

  it('emits typed events and tracks conversations created while connected', async () => {
    const { net, session } = setup();
    const typing: string[] = [];
    session.on('typing', (e) => typing.push(e.userId));
    void session.start();
    await settle();
    net.last.open();
    net.last.push({ type: 'typing', conversationId: 'c1', userId: 'u2' });
    net.last.push({
      type: 'conversationCreated',
      conversation: { conversationId: 'g1', type: 'group', lastSeq: 0 },
    });
    expect(typing).toEqual(['u2']);
    expect(session.lastSeq('g1')).toBe(0);
    expect(net.last.frames('sync').at(-1)).toMatchObject({ conversationId: 'g1', afterSeq: 0 });
  });

  it('on sessionEnded emits the event and reconnects with a fresh token (the re-login callback)', async () => {
    const { net, session, tokens } = setup();
    const ended: unknown[] = [];
    session.on('sessionEnded', (e) => ended.push(e));
    void session.start();
    await settle();
    net.last.open();
    expect(tokens).toEqual([false]);
    net.last.push({ type: 'sessionEnded', reason: 'token_revoked' });
    expect(ended).toEqual([{ type: 'sessionEnded', reason: 'token_revoked' }]);
    // The server closes right after; the next connection asks for a new token at once.
    net.last.close(1000, 'Closed by the server');
    await vi.advanceTimersByTimeAsync(250);
    expect(net.sockets).toHaveLength(2);
    expect(tokens).toEqual([false, true]);
    expect(new URL(net.last.url).searchParams.get('token')).toBe('t2');
    // Only once: a later plain drop reuses the refreshed token.
    net.last.open();
    net.last.drop();
    await vi.advanceTimersByTimeAsync(250);
    expect(tokens).toEqual([false, true, false]);
  });

  it('backoffDelay stays within [0, min(max, base × 2^n)]', () => {
    for (let n = 0; n < 12; n++) {
      expect(backoffDelay(n, {}, () => 0)).toBe(0);
      expect(backoffDelay(n, {}, () => 0.999_999)).toBeLessThan(Math.min(30_000, 500 * 2 ** n));
    }
  });
});
