import { describe, expect, it } from 'vitest';
import { api, type WsClient } from '../support/clients.js';
import { befriend, type E2eUser, signUp } from '../support/e2e-users.js';
import { wsSessions } from '../support/ws-sessions.js';

const connect = wsSessions();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function history(user: E2eUser, conversationId: string) {
  const out: any[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await api(`/conversations/${conversationId}/messages?afterSeq=${afterSeq}&limit=200`, {
      token: user.token,
    });
    expect(page.status).toBe(200);
    out.push(...page.body.items);
    if (!page.body.hasMore) return out;
    afterSeq = out[out.length - 1].seq;
  }
}

async function groupOf(owner: E2eUser, others: E2eUser[]): Promise<string> {
  const res = await api('/groups', {
    method: 'POST',
    token: owner.token,
    body: { name: 'load', memberIds: others.map((u) => u.userId) },
  });
  expect(res.status).toBe(201);
  return res.body.conversationId;
}

async function unreadOf(user: E2eUser, conversationId: string) {
  const list = await api('/conversations', { token: user.token });
  expect(list.status).toBe(200);
  return list.body.items.find((c: any) => c.conversationId === conversationId);
}

/** Sends frames without waiting, `gapMs` apart, and collects the answer to each (ack or error). */
async function burst(ws: WsClient, frames: Record<string, unknown>[], gapMs: number) {
  const answers: Promise<any>[] = [];
  for (const [i, frame] of frames.entries()) {
    if (i > 0) await sleep(gapMs);
    answers.push(ws.request(frame, 60_000));
  }
  return Promise.all(answers);
}

describe('messaging under load', () => {
  it('stores 100 frames sent without waiting for acks on one connection in the order sent, gapless', async () => {
    const [a, b] = await Promise.all([signUp('ord'), signUp('ord')]);
    const conversationId = await befriend(a, b);
    const ws = await connect(a.token);
    const frames = Array.from({ length: 100 }, (_, i) => ({
      action: 'sendMessage',
      conversationId,
      clientMessageId: `o${i}`,
      text: `n${i}`,
    }));
    // 10 ms apart, faster than one conversation's pipeline drains on a small machine: the frames'
    // queue sends overtake each other and batches back up, and the reorder window must still put
    // every frame in the order sent (docs/messaging.md, guarantee 8).
    const answers = await burst(ws, frames, 10);
    expect(answers.map((x) => x.type)).toEqual(Array(100).fill('ack'));
    const stored = await history(a, conversationId);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(stored.map((m) => m.clientMessageId)).toEqual(frames.map((f) => f.clientMessageId));
    // Each ack carries the seq it was stored at.
    expect(answers.map((x) => x.message.seq)).toEqual(stored.map((m) => m.seq));
  });

  it('keeps seq gapless with no duplicate when 10 senders burst into one group', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => signUp('hot')));
    const [owner, ...others] = users as [E2eUser, ...E2eUser[]];
    const conversationId = await groupOf(owner, others);
    const sockets = await Promise.all(users.map((u) => connect(u.token)));
    const perSender = 10;
    const answers = await Promise.all(
      sockets.map((ws, s) =>
        burst(
          ws,
          Array.from({ length: perSender }, (_, i) => ({
            action: 'sendMessage',
            conversationId,
            clientMessageId: `s${s}-${i}`,
            text: `sender ${s} message ${i}`,
          })),
          250,
        ),
      ),
    );
    expect(answers.flat().filter((x) => x.type !== 'ack')).toEqual([]);
    const stored = await history(owner, conversationId);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 10 * perSender }, (_, i) => i + 1));
    expect(new Set(stored.map((m) => `${m.senderId}/${m.clientMessageId}`)).size).toBe(10 * perSender);
    for (const [s, user] of users.entries()) {
      const mine = stored.filter((m) => m.senderId === user.userId).map((m) => m.clientMessageId);
      expect(mine).toEqual(Array.from({ length: perSender }, (_, i) => `s${s}-${i}`));
    }
  });

  it('refuses a flood at once with throttled while a quiet user in another conversation is served', async () => {
    const [flooder, f1, f2, quiet, friend] = await Promise.all([
      signUp('flood'),
      signUp('flood'),
      signUp('flood'),
      signUp('quiet'),
      signUp('quiet'),
    ]);
    const floodConversation = await groupOf(flooder, [f1, f2]);
    const quietConversation = await befriend(quiet, friend);
    const [floodWs, quietWs] = await Promise.all([connect(flooder.token), connect(quiet.token)]);
    const flood = burst(
      floodWs,
      Array.from({ length: 200 }, (_, i) => ({
        action: 'sendMessage',
        conversationId: floodConversation,
        clientMessageId: `f${i}`,
        text: `flood ${i}`,
      })),
      10,
    );
    const quietAnswers: any[] = [];
    for (let i = 0; i < 10; i++) {
      quietAnswers.push(
        await quietWs.request({
          action: 'sendMessage',
          conversationId: quietConversation,
          clientMessageId: `q${i}`,
          text: `quiet ${i}`,
        }),
      );
      await sleep(100);
    }
    const floodAnswers = await flood;
    expect(quietAnswers.map((x) => x.type)).toEqual(Array(10).fill('ack'));
    const throttled = floodAnswers.filter((x) => x.type === 'error');
    const acked = floodAnswers.filter((x) => x.type === 'ack');
    expect(throttled.length).toBeGreaterThan(0);
    expect(acked.length + throttled.length).toBe(200);
    for (const t of throttled) {
      expect(t.code).toBe('throttled');
      expect(t.retryAfterMs).toBeGreaterThan(0);
      // Each refusal names the send it refused.
      expect(t.clientMessageId).toMatch(/^f\d+$/);
    }
    expect(new Set(throttled.map((t) => t.clientMessageId)).size).toBe(throttled.length);
    // Nothing refused was written: exactly the acked messages are stored, gapless.
    const stored = await history(flooder, floodConversation);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    expect(new Set(stored.map((m) => m.clientMessageId))).toEqual(
      new Set(acked.map((x) => x.clientMessageId)),
    );
    expect((await history(quiet, quietConversation)).map((m) => m.clientMessageId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `q${i}`),
    );
  });

  it('answers 429 throttled with Retry-After over HTTP and stores none of the refused sends', async () => {
    const [a, b] = await Promise.all([signUp('h429'), signUp('h429')]);
    const conversationId = await befriend(a, b);
    // All at once, whatever the answers: the limit is taken before a send is queued, so the arrival
    // rate is what counts. Waiting for each answer would make the arrival rate the pipeline's, which
    // a heavily shared machine can push under the sustained limit.
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        api(`/conversations/${conversationId}/messages`, {
          method: 'POST',
          token: a.token,
          body: { clientMessageId: `h${i}`, text: `http ${i}` },
        }),
      ),
    );
    const refused = results.filter((r) => r.status === 429);
    const created = results.filter((r) => r.status === 201);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length + created.length).toBe(300);
    for (const r of refused) {
      expect(r.body.error.code).toBe('throttled');
      expect(r.body.error.retryAfterMs).toBeGreaterThan(0);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const stored = await history(a, conversationId);
    expect(stored).toHaveLength(created.length);
    expect(new Set(stored.map((m) => m.clientMessageId))).toEqual(
      new Set(created.map((r) => r.body.clientMessageId)),
    );
  });

  it('limits typing, markRead and sync frames per connection, not per user', async () => {
    const [a, b] = await Promise.all([signUp('frm'), signUp('frm')]);
    const conversationId = await befriend(a, b);
    const [noisy, other] = await Promise.all([connect(a.token), connect(a.token)]);
    const answers = await Promise.all(
      Array.from({ length: 120 }, () =>
        noisy.request({ action: 'sync', conversationId, afterSeq: 0 }, 30_000),
      ),
    );
    const throttled = answers.filter((x) => x.type === 'error');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled.every((x) => x.code === 'throttled' && x.retryAfterMs > 0)).toBe(true);
    expect(answers.filter((x) => x.type === 'sync').length + throttled.length).toBe(120);
    // The user's other connection has its own budget.
    expect((await other.request({ action: 'sync', conversationId, afterSeq: 0 })).type).toBe('sync');
  });
});

describe('text the queue cannot carry', () => {
  it('refuses a lone surrogate or a noncharacter with a 400 before anything is queued', async () => {
    const [a, b] = await Promise.all([signUp('bad'), signUp('bad')]);
    const conversationId = await befriend(a, b);
    for (const raw of [
      '{"clientMessageId":"p1","text":"hi \\ud83d"}',
      '{"clientMessageId":"p2\\udfff","text":"ok"}',
      '{"clientMessageId":"p3","text":"\\uffff"}',
    ]) {
      const res = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const ws = await connect(a.token);
    const answer = await ws.request({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'p4',
      text: 'x\ud800',
    });
    expect(answer).toMatchObject({ type: 'error', code: 'invalid_request' });
    // The conversation is not blocked: the next send is stored at seq 1.
    const ok = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token: a.token,
      body: { clientMessageId: 'after', text: 'still works' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.seq).toBe(1);
  });
});

describe('own messages are read', () => {
  it('does not count a sender’s own messages as unread, over HTTP', async () => {
    const [a, b] = await Promise.all([signUp('own'), signUp('own')]);
    const conversationId = await befriend(a, b);
    for (let i = 0; i < 3; i++) {
      const res = await api(`/conversations/${conversationId}/messages`, {
        method: 'POST',
        token: a.token,
        body: { clientMessageId: `a${i}`, text: 'from a' },
      });
      expect(res.status).toBe(201);
    }
    expect(await unreadOf(a, conversationId)).toMatchObject({ lastSeq: 3, lastReadSeq: 3, unreadCount: 0 });
    expect(await unreadOf(b, conversationId)).toMatchObject({ lastSeq: 3, lastReadSeq: 0, unreadCount: 3 });
    const reply = await api(`/conversations/${conversationId}/messages`, {
      method: 'POST',
      token: b.token,
      body: { clientMessageId: 'b0', text: 'from b' },
    });
    expect(reply.status).toBe(201);
    // Replying reads everything up to one's own message.
    expect(await unreadOf(b, conversationId)).toMatchObject({ lastReadSeq: 4, unreadCount: 0 });
    expect(await unreadOf(a, conversationId)).toMatchObject({ lastReadSeq: 3, unreadCount: 1 });
  });

  it('does not count a sender’s own messages as unread, over WebSocket and in groups', async () => {
    const [a, b, c] = await Promise.all([signUp('owng'), signUp('owng'), signUp('owng')]);
    const conversationId = await groupOf(a, [b, c]);
    const [wa, wb, wc] = await Promise.all([connect(a.token), connect(b.token), connect(c.token)]);
    const say = async (ws: WsClient, id: string) => {
      const ack = await ws.request({ action: 'sendMessage', conversationId, clientMessageId: id, text: id });
      expect(ack.type).toBe('ack');
    };
    await say(wa, 'a1');
    await say(wb, 'b1');
    await say(wb, 'b2');
    await say(wc, 'c1');
    await say(wa, 'a2');
    expect(await unreadOf(a, conversationId)).toMatchObject({ lastSeq: 5, unreadCount: 0 });
    expect(await unreadOf(b, conversationId)).toMatchObject({ lastReadSeq: 3, unreadCount: 2 });
    expect(await unreadOf(c, conversationId)).toMatchObject({ lastReadSeq: 4, unreadCount: 1 });
  });
});
