import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ChatClient, type ClientOptions, type Message, type SocketLike } from '../../clients/sdk/index.js';
import { api, httpUrl, wsUrl } from '../support/clients.js';
import { type DropProxy, startDropProxy } from '../support/drop-proxy.js';
import { befriend, type E2eUser, signUp } from '../support/e2e-users.js';

const PER_SENDER = 25;

/** A client of the SDK for a user registered by the test, connected through the dropping proxy. */
function clientFor(user: E2eUser, proxy: DropProxy): ChatClient {
  const options: ClientOptions = {
    httpUrl: httpUrl(),
    wsUrl: proxy.url,
    socketFactory: (url) => new WebSocket(url) as unknown as SocketLike,
    session: { backoff: { baseMs: 50, maxMs: 400 }, ackTimeoutMs: 5000 },
  };
  return new ChatClient(options, {
    user: {
      userId: user.userId,
      username: user.username,
      displayName: '',
      bio: '',
      version: 1,
      createdAt: '',
    },
    token: user.token,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
}

describe('SDK against the local runtime while the network drops connections', () => {
  let proxy: DropProxy;
  let clients: ChatClient[] = [];
  beforeAll(async () => {
    proxy = await startDropProxy(wsUrl());
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy.close();
  });

  it('two senders in bursts: no loss, no duplicate, each sender in order, every client sees every message once in seq order', async () => {
    const [a, b] = await Promise.all([signUp('sdka'), signUp('sdkb')]);
    const conversationId = await befriend(a, b);
    clients = [clientFor(a, proxy), clientFor(b, proxy)];
    const seen = clients.map(() => [] as Message[]);
    const reconnects = clients.map(() => 0);
    clients.forEach((c, i) => {
      c.live.on('message', (m) => {
        if (m.conversationId === conversationId) seen[i]?.push(m);
      });
      c.live.on('state', (s) => {
        if (s.state === 'reconnecting') reconnects[i] = (reconnects[i] ?? 0) + 1;
      });
    });
    await Promise.all(clients.map((c) => c.connect()));

    // Both burst their whole batch at once; the outbox keeps each sender's order.
    const sends = clients.flatMap((c, i) =>
      Array.from({ length: PER_SENDER }, (_, n) => c.live.send(conversationId, `sender ${i} #${n}`)),
    );
    const settled = Promise.allSettled(sends);
    let drops = 0;
    let cut = 0;
    // Cut every connection every 500 ms while sends are pending: at least 3 times, at most 10.
    while (drops < 3 || (drops < 10 && clients.some((c) => c.live.pendingSends > 0))) {
      await new Promise((r) => setTimeout(r, 500));
      cut += proxy.dropAll();
      drops += 1;
    }
    const results = await settled;
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(cut).toBeGreaterThanOrEqual(3);
    expect(Math.min(...reconnects)).toBeGreaterThanOrEqual(2);

    // History: every message exactly once, seq 1..n without gaps, each sender's messages in send order.
    const history: Message[] = [];
    for (let afterSeq = 0; ; ) {
      const page = await api(`/conversations/${conversationId}/messages?afterSeq=${afterSeq}&limit=200`, {
        token: a.token,
      });
      history.push(...page.body.items);
      if (!page.body.hasMore) break;
      afterSeq = history.at(-1)?.seq ?? afterSeq;
    }
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 2 * PER_SENDER }, (_, i) => i + 1));
    expect(new Set(history.map((m) => m.clientMessageId)).size).toBe(2 * PER_SENDER);
    for (const [i, user] of [a, b].entries()) {
      expect(history.filter((m) => m.senderId === user.userId).map((m) => m.text)).toEqual(
        Array.from({ length: PER_SENDER }, (_, n) => `sender ${i} #${n}`),
      );
    }

    // Live: each client delivers exactly the history, in seq order (own messages come through acks).
    await vi.waitFor(() => expect(seen.map((s) => s.length)).toEqual([2 * PER_SENDER, 2 * PER_SENDER]), {
      timeout: 30_000,
      interval: 100,
    });
    for (const s of seen) expect(s.map((m) => m.messageId)).toEqual(history.map((m) => m.messageId));
  }, 180_000);
});
